package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/s3crr/s3crr/internal/names"
)

// Validate reports missing fields and values that would silently widen a
// grant. Builders do not call it (they are pure data transforms, and CDK
// passes tokens); callers run it once after mapping their request.
func (p ReplicationParams) Validate() error {
	var errs []error
	required := []struct{ name, v string }{
		{"PairID", p.PairID}, {"SourceAccount", p.SourceAccount}, {"SourceRegion", p.SourceRegion},
		{"SourceBucket", p.SourceBucket}, {"SourceKeyARN", p.SourceKeyARN},
		{"DestinationAccount", p.DestinationAccount}, {"DestinationRegion", p.DestinationRegion},
		{"DestinationBucket", p.DestinationBucket}, {"DestinationKeyARN", p.DestinationKeyARN},
		{"RoleARN", p.RoleARN},
	}
	for _, f := range required {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		}
	}
	for _, f := range []struct{ name, v string }{
		{"SourceBucket", p.SourceBucket}, {"DestinationBucket", p.DestinationBucket}, {"Prefix", p.Prefix},
		{"SourceKeyARN", p.SourceKeyARN}, {"DestinationKeyARN", p.DestinationKeyARN}, {"RoleARN", p.RoleARN},
	} {
		if strings.ContainsAny(f.v, "*?") {
			errs = append(errs, fmt.Errorf("%s %q contains an IAM wildcard, which would widen the grant", f.name, f.v))
		}
	}
	for _, f := range []struct{ name, v string }{{"SourceKeyARN", p.SourceKeyARN}, {"DestinationKeyARN", p.DestinationKeyARN}} {
		if f.v != "" && !strings.Contains(f.v, ":key/") {
			errs = append(errs, fmt.Errorf("%s %q is not a key ARN (an alias ARN would grant nothing on the key)", f.name, f.v))
		}
	}
	if SidFor(p.PairID, "") == SidPrefix && p.PairID != "" {
		errs = append(errs, fmt.Errorf("PairID %q has no letters or digits for the Sid", p.PairID))
	}
	return errors.Join(errs...)
}

// Validate reports missing fields.
func (p ProvisionerParams) Validate() error {
	var errs []error
	if p.Account == "" {
		errs = append(errs, errors.New("Account is empty"))
	}
	if p.HubAccount == "" {
		errs = append(errs, errors.New("HubAccount is empty"))
	}
	if len(p.HubRoleARNs) == 0 {
		errs = append(errs, errors.New("HubRoleARNs is empty: nobody could assume the provisioner"))
	}
	if p.ExternalID == "" {
		errs = append(errs, errors.New("ExternalID is empty"))
	}
	return errors.Join(errs...)
}

// Validate reports missing fields.
func (h HubParams) Validate() error {
	var errs []error
	if len(h.MemberAccounts) == 0 && h.OrganizationID == "" {
		errs = append(errs, errors.New("MemberAccounts is empty and no OrganizationID is set"))
	}
	if h.ExternalID == "" {
		errs = append(errs, errors.New("ExternalID is empty"))
	}
	if h.ProvisionerRolePath == names.RolePath {
		errs = append(errs, fmt.Errorf("ProvisionerRolePath must not be %s, where the provisioner may change roles", names.RolePath))
	}
	for _, f := range []struct{ name, v string }{{"Region", h.Region}, {"TopicARN", h.TopicARN}, {"TableARN", h.TableARN}, {"LeaseTableARN", h.LeaseTableARN}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s is empty", f.name))
		}
	}
	return errors.Join(errs...)
}
