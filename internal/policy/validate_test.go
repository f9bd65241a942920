package policy

import (
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
)

func TestReplicationParamsValidate(t *testing.T) {
	good := pairConfigs()["full"]
	tests := []struct {
		name string
		give func(*ReplicationParams)
		want string // substring of the error; "" for valid
	}{
		{"valid", func(*ReplicationParams) {}, ""},
		{"missing role", func(p *ReplicationParams) { p.RoleARN = "" }, "RoleARN is empty"},
		{"wildcard prefix", func(p *ReplicationParams) { p.Prefix = "logs/*" }, "Prefix"},
		{"wildcard bucket", func(p *ReplicationParams) { p.DestinationBucket = "pay?" }, "DestinationBucket"},
		{"alias instead of key", func(p *ReplicationParams) { p.DestinationKeyARN = "arn:aws:kms:us-east-1:222222222222:alias/s3crr/x" }, "not a key ARN"},
		{"pair ID without letters", func(p *ReplicationParams) { p.PairID = "--" }, "no letters or digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.give(&p)
			err := p.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestProvisionerAndHubValidate(t *testing.T) {
	for name, p := range provisionerConfigs() {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := (ProvisionerParams{}).Validate(); err == nil || !strings.Contains(err.Error(), "HubRoleARNs") {
		t.Errorf("empty ProvisionerParams: %v", err)
	}
	for name, h := range hubConfigs() {
		if err := h.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	h := hubConfigs()["plain"]
	h.ProvisionerRolePath = names.RolePath
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "ProvisionerRolePath") {
		t.Errorf("provisioner under /s3crr/: %v", err)
	}
}
