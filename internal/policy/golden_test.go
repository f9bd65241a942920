package policy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json golden files from the builders")

const (
	acctA   = "111111111111"
	acctB   = "222222222222"
	acctHub = "333333333333"
	srcKey  = "arn:aws:kms:ap-south-1:111111111111:key/1111aaaa-1111-4111-8111-111111111111"
	dstKey  = "arn:aws:kms:us-east-1:222222222222:key/2222bbbb-2222-4222-8222-222222222222"
)

// pairConfigs are the replication configurations every pair document is
// rendered in: all options off, all on, and a prefixed rule with owner
// override only.
func pairConfigs() map[string]ReplicationParams {
	base := ReplicationParams{
		PairID:             "payments-archive",
		SourceAccount:      acctA,
		SourceRegion:       "ap-south-1",
		SourceBucket:       "payments-src",
		SourceKeyARN:       srcKey,
		DestinationAccount: acctB,
		DestinationRegion:  "us-east-1",
		DestinationBucket:  "payments-dst",
		DestinationKeyARN:  dstKey,
		RoleARN:            RoleARN(acctA, names.RolePath, "s3crr-repl-payments-src-38d30e55"),
	}
	full := base
	full.OwnerOverride, full.ObjectLock, full.BatchReplication = true, true, true
	prefixed := base
	prefixed.PairID = "logs-eu"
	prefixed.Prefix = "logs/"
	prefixed.OwnerOverride = true
	prefixed.RoleARN = RoleARN(acctA, names.RolePath, "s3crr-repl-logs-eu")
	return map[string]ReplicationParams{"plain": base, "full": full, "prefixed": prefixed}
}

func provisionerConfigs() map[string]ProvisionerParams {
	base := ProvisionerParams{
		Account:     acctA,
		HubAccount:  acctHub,
		HubRoleARNs: []string{RoleARN(acctHub, "/", "s3crr-hub-provision")},
		ExternalID:  "s3crr-7f3a",
	}
	scoped := base
	scoped.Account = acctB
	scoped.BucketPattern = "payments-*"
	return map[string]ProvisionerParams{"default": base, "scoped": scoped}
}

func hubConfigs() map[string]HubParams {
	base := HubParams{
		Region:         "eu-west-1",
		HubAccount:     "333333333333",
		MemberAccounts: []string{acctA, acctB},
		ExternalID:     "s3crr-7f3a",
		TopicARN:       "arn:aws:sns:eu-west-1:333333333333:s3crr-alerts",
		TableARN:       "arn:aws:dynamodb:eu-west-1:333333333333:table/s3crr-pairs",
		LeaseTableARN:  "arn:aws:dynamodb:eu-west-1:333333333333:table/s3crr-leases",
		FunctionARNs: []string{
			"arn:aws:lambda:eu-west-1:333333333333:function:s3crr-provision",
		},
	}
	encrypted := base
	encrypted.TopicKeyARN = "arn:aws:kms:eu-west-1:333333333333:key/3333cccc-3333-4333-8333-333333333333"
	encrypted.ProvisionerRoleName = "acme-s3crr-provisioner"
	encrypted.ProvisionerRolePath = "/platform/"
	return map[string]HubParams{"plain": base, "encrypted": encrypted}
}

func statements(st ...Statement) Document { return Document{Version: Version, Statement: st} }

// generated returns every document s3crr writes, in every configuration,
// keyed by golden file name.
func generated() map[string]Document {
	docs := map[string]Document{}
	for name, p := range pairConfigs() {
		docs["replication-trust-"+name] = ReplicationTrustPolicy(p)
		docs["replication-role-"+name] = ReplicationRolePolicy(p)
		docs["batch-trust-"+name] = BatchTrustPolicy(p)
		docs["batch-role-"+name] = BatchRolePolicy(p)
		docs["source-key-statements-"+name] = statements(SourceKeyStatements(p)...)
		docs["destination-key-statements-"+name] = statements(DestinationKeyStatements(p)...)
		docs["source-bucket-statements-"+name] = statements(SourceBucketStatements(p)...)
		docs["destination-bucket-statements-"+name] = statements(DestinationBucketPolicyStatements(p)...)
		dk, _ := Merge(DefaultKeyPolicy(p.DestinationAccount), DestinationKeyStatements(p))
		docs["destination-key-policy-merged-"+name] = dk
		// The shared destination grants, for this pair and a second source account.
		share := Share{}.With(p.SourceAccount, ObjectsARN(p.DestinationBucket, p.Prefix)).With("444444444444", ObjectsARN(p.DestinationBucket, "other/"))
		bucket := []Statement{DenyInsecureTransport(p.DestinationBucket), SharedReplicaWriteStatement(share, false)}
		if p.OwnerOverride {
			bucket = append(bucket, SharedReplicaWriteStatement(Share{}.With(p.SourceAccount, ObjectsARN(p.DestinationBucket, p.Prefix)), true))
		}
		docs["destination-shared-bucket-policy-"+name] = statements(bucket...)
		sk, _ := Merge(DefaultKeyPolicy(p.DestinationAccount), []Statement{SharedReplicaEncryptStatement(p.DestinationRegion, share)})
		docs["destination-shared-key-policy-"+name] = sk
		if name == "full" {
			org := share.InOrganization("o-a1b2c3d4e5")
			docs["destination-shared-bucket-policy-organization"] = statements(DenyInsecureTransport(p.DestinationBucket), SharedReplicaWriteStatement(org, false))
			ok, _ := Merge(DefaultKeyPolicy(p.DestinationAccount), []Statement{SharedReplicaEncryptStatement(p.DestinationRegion, org)})
			docs["destination-shared-key-policy-organization"] = ok
		}
	}
	for name, p := range provisionerConfigs() {
		docs["provisioner-trust-"+name] = ProvisionerTrustPolicy(p)
		docs["provisioner-policy-"+name] = ProvisionerPolicy(p)
		docs["replication-boundary-"+name] = ReplicationBoundary(BoundaryParams{BucketPattern: p.BucketPattern, MemberAccounts: []string{"111111111111", "222222222222"}})
	}
	for name, h := range hubConfigs() {
		docs["hub-provision-"+name] = ProvisionFunctionPolicy(h)
		docs["hub-state-machine-"+name] = StateMachinePolicy(h)
		docs["hub-destroy-state-machine-"+name] = DestroyStateMachinePolicy(h)
		docs["hub-redrive-state-machine-"+name] = RedriveStateMachinePolicy(h)
		docs["hub-verify-function-"+name] = VerifyFunctionPolicy(h)
		docs["hub-verify-state-machine-"+name] = VerifyStateMachinePolicy(h)
	}
	// An organization deployment names no member account: a new one needs no change.
	docs["hub-provision-organization"] = ProvisionFunctionPolicy(HubParams{OrganizationID: "o-a1b2c3d4e5", ExternalID: "s3crr-test-external-id",
		LeaseTableARN: "arn:aws:dynamodb:eu-west-1:333333333333:table/s3crr-leases"})
	docs["replication-boundary-organization"] = ReplicationBoundary(BoundaryParams{BucketPattern: "payments-*", OrganizationID: "o-a1b2c3d4e5"})
	for name, h := range hubConfigs() {
		docs["hub-monitor-function-"+name] = ReplicationMonitorPolicy(h, "arn:aws:dynamodb:eu-west-1:333333333333:table/s3crr-alert-dedup")
	}
	auditor := AuditorParams{Account: acctB, HubAccount: acctHub, ExternalID: "s3crr-7f3a"}
	docs["auditor-trust"] = AuditorTrustPolicy(auditor)
	docs["auditor-policy"] = AuditorPolicy(auditor)
	verifier := VerifierParams{Account: acctA, HubAccount: acctHub, HubRoleARN: "arn:aws:iam::" + acctHub + ":role/s3crr-verify-function", ExternalID: "s3crr-7f3a", BucketPattern: "acme-*"}
	docs["verifier-trust"] = VerifierTrustPolicy(verifier)
	docs["verifier-policy"] = VerifierPolicy(verifier)
	docs["default-key-policy"] = DefaultKeyPolicy(acctA)
	docs["verify-schedule"] = VerifySchedulePolicy("arn:aws:states:eu-west-1:" + acctHub + ":stateMachine:s3crr-verify")
	return docs
}

// TestGolden compares every generated document with its golden file, and
// checks that the golden file parses back to an equivalent document (so the
// renderer and the parser agree). Run with -update to rewrite.
func TestGolden(t *testing.T) {
	for name, doc := range generated() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".json")
			got := doc.Pretty()
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run go test -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the builder's output; run go test ./internal/policy -update and review the diff.\ngot:\n%s", path, got)
			}
			back, err := ParseDocument(want)
			if err != nil {
				t.Fatalf("parse golden: %v", err)
			}
			if !Equivalent(back, doc) {
				t.Errorf("golden parses to a document not equivalent to the builder's")
			}
			if !bytes.Equal(back.JSON(), doc.JSON()) {
				t.Errorf("JSON(Parse(golden)) != JSON(doc):\n%s\n%s", back.JSON(), doc.JSON())
			}
		})
	}
}

// TestGoldenFilesHaveBuilders catches golden files left behind by a rename.
func TestGoldenFilesHaveBuilders(t *testing.T) {
	docs := generated()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		name = name[:len(name)-len(".json")]
		if _, ok := docs[name]; !ok {
			t.Errorf("%s has no builder in generated()", f)
		}
	}
}
