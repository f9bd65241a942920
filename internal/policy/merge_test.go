package policy

import (
	"slices"
	"strings"
	"testing"
)

func sids(d Document) []string {
	out := make([]string, len(d.Statement))
	for i, s := range d.Statement {
		out[i] = s.Sid
	}
	return out
}

// foreignKeyPolicy is a key policy as a console user leaves it: the root
// statement, a key-admin statement without Sid, a NotPrincipal deny, and a
// stale s3crr statement between them.
const foreignKeyPolicy = `{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-3",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:*", "Resource": "*"},
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:role/KeyAdmin"}, "Action": ["kms:Describe*", "kms:Put*"], "Resource": "*"},
    {"Sid": "S3crrPaymentsArchiveReplicaEncrypt", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/old"}, "Action": "kms:Encrypt", "Resource": "*"},
    {"Sid": "DenyOthers", "Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::222222222222:root", "arn:aws:iam::222222222222:role/KeyAdmin"]}, "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
  ]
}`

func TestMergeKeepsForeignReplacesOurs(t *testing.T) {
	existing, err := ParseDocument([]byte(foreignKeyPolicy))
	if err != nil {
		t.Fatal(err)
	}
	p := pairConfigs()["full"]
	other := p
	other.PairID = "ledger"
	ours := append(DestinationKeyStatements(p), DestinationKeyStatements(other)...)

	merged, changed := Merge(existing, ours)
	if !changed {
		t.Fatal("changed = false for a stale statement and a new one")
	}
	wantSids := []string{"Enable IAM User Permissions", "", "S3crrPaymentsArchiveReplicaEncrypt", "DenyOthers", "S3crrLedgerReplicaEncrypt"}
	if got := sids(merged); !slices.Equal(got, wantSids) {
		t.Errorf("Sids = %q, want %q (foreign kept in order, ours replaced in place, new appended)", got, wantSids)
	}
	if merged.ID != "key-consolepolicy-3" || merged.Version != Version {
		t.Errorf("Id/Version = %q/%q", merged.ID, merged.Version)
	}
	if !StatementsEquivalent(merged.Statement[2], ours[0]) {
		t.Errorf("our statement was not replaced: %s", Document{Statement: merged.Statement[2:3]}.JSON())
	}
	for _, i := range []int{0, 1, 3} {
		if !StatementsEquivalent(merged.Statement[i], existing.Statement[i]) {
			t.Errorf("foreign statement %d changed", i)
		}
	}
	// NotPrincipal survives rendering and re-parsing.
	js := string(merged.JSON())
	if !strings.Contains(js, `"NotPrincipal":{"AWS":["arn:aws:iam::222222222222:root","arn:aws:iam::222222222222:role/KeyAdmin"]}`) {
		t.Errorf("NotPrincipal lost: %s", js)
	}
	back, err := ParseDocument(merged.JSON())
	if err != nil || !Equivalent(back, merged) {
		t.Errorf("merged document does not round-trip: %v", err)
	}

	// The same merge again changes nothing.
	again, changed := Merge(back, ours)
	if changed {
		t.Errorf("second merge reported a change:\n%s\n%s", back.JSON(), again.JSON())
	}
	if !Equivalent(again, back) {
		t.Error("second merge altered the document")
	}

	// Merging must not alias: changing the result leaves the inputs alone.
	merged.Statement[0].Action[0] = "changed"
	merged.Statement[3].Extra["NotPrincipal"][2] = 'X'
	if existing.Statement[0].Action[0] != "kms:*" || strings.Contains(string(existing.Statement[3].Extra["NotPrincipal"]), "X") {
		t.Error("Merge result aliases the existing document")
	}
}

func TestMerge(t *testing.T) {
	tls := DenyInsecureTransport("payments-dst")
	grant := DestinationBucketStatements(pairConfigs()["plain"])[0]
	tests := []struct {
		name        string
		give        string
		giveOurs    []Statement
		wantSids    []string
		wantChanged bool
	}{
		{
			name:        "empty document gets version and our statements",
			give:        `{}`,
			giveOurs:    []Statement{tls, grant},
			wantSids:    []string{SidDenyInsecureTransport, grant.Sid},
			wantChanged: true,
		},
		{
			name:        "statement as a single object, no Sid, kept first",
			give:        `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::3:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::payments-dst/*"}}`,
			giveOurs:    []Statement{tls},
			wantSids:    []string{"", SidDenyInsecureTransport},
			wantChanged: true,
		},
		{
			name: "ours already present in another representation: no change",
			give: `{"Version":"2012-10-17","Statement":[{"Sid":"S3crrDenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",
				"Resource":["arn:aws:s3:::payments-dst/*","arn:aws:s3:::payments-dst"],"Condition":{"Bool":{"aws:SecureTransport":false}}}]}`,
			giveOurs:    []Statement{tls},
			wantSids:    []string{SidDenyInsecureTransport},
			wantChanged: false,
		},
		{
			name: "duplicate of our Sid collapses into one",
			give: `{"Version":"2012-10-17","Statement":[{"Sid":"S3crrDenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"},
				{"Sid":"Other","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},
				{"Sid":"S3crrDenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`,
			giveOurs:    []Statement{tls},
			wantSids:    []string{SidDenyInsecureTransport, "Other"},
			wantChanged: true,
		},
		{
			name:        "our Sid-less statement is not appended twice",
			give:        `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}`,
			giveOurs:    []Statement{{Effect: Allow, Action: []string{"s3:ListBucket"}, Resource: []string{"arn:aws:s3:::b"}}},
			wantSids:    []string{""},
			wantChanged: false,
		},
		{
			name:        "old version kept",
			give:        `{"Version":"2008-10-17","Statement":[]}`,
			giveOurs:    []Statement{tls},
			wantSids:    []string{SidDenyInsecureTransport},
			wantChanged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			existing, err := ParseDocument([]byte(tt.give))
			if err != nil {
				t.Fatal(err)
			}
			merged, changed := Merge(existing, tt.giveOurs)
			if got := sids(merged); !slices.Equal(got, tt.wantSids) {
				t.Errorf("Sids = %q, want %q", got, tt.wantSids)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if existing.Version != "" && merged.Version != existing.Version {
				t.Errorf("Version = %q, want existing %q", merged.Version, existing.Version)
			}
			if existing.Version == "" && merged.Version != Version {
				t.Errorf("Version = %q, want %q", merged.Version, Version)
			}
			if _, again := Merge(merged, tt.giveOurs); again {
				t.Error("merging the result again reported a change")
			}
		})
	}
}

func TestRemove(t *testing.T) {
	existing, err := ParseDocument([]byte(foreignKeyPolicy))
	if err != nil {
		t.Fatal(err)
	}
	out, removed := Remove(existing, "S3crrPaymentsArchiveReplicaEncrypt", "NotThere")
	if !removed || !slices.Equal(sids(out), []string{"Enable IAM User Permissions", "", "DenyOthers"}) {
		t.Errorf("Remove = %q, %v", sids(out), removed)
	}
	if _, removed := Remove(out, "S3crrPaymentsArchiveReplicaEncrypt"); removed {
		t.Error("second Remove reported a removal")
	}
	if _, removed := Remove(existing, ""); removed {
		t.Error("Remove(\"\") removed Sid-less statements")
	}
}

func TestRemovePairKeepsEveryOtherStatement(t *testing.T) {
	doc := Document{Version: Version, Statement: []Statement{
		{Sid: "Foreign", Effect: Allow, Action: []string{"s3:GetObject"}, Resource: []string{"*"}},
		{Sid: SidFor("payments-archive", PurposeReplicaWrite), Effect: Allow, Action: []string{"s3:ReplicateObject"}, Resource: []string{"*"}},
		{Sid: SidFor("payments", PurposeReplicaWrite), Effect: Allow, Action: []string{"s3:ReplicateObject"}, Resource: []string{"*"}},
		{Sid: SidDenyInsecureTransport, Effect: Deny, Action: []string{"s3:*"}, Resource: []string{"*"}},
		{Effect: Allow, Action: []string{"s3:ListBucket"}, Resource: []string{"*"}},
	}}
	out, sids := RemovePair(doc, "payments-archive")
	if len(sids) != 1 || sids[0] != SidFor("payments-archive", PurposeReplicaWrite) {
		t.Fatalf("removed %v, want only the pair's statement", sids)
	}
	var kept []string
	for _, s := range out.Statement {
		kept = append(kept, s.Sid)
	}
	want := []string{"Foreign", SidFor("payments", PurposeReplicaWrite), SidDenyInsecureTransport, ""}
	if strings.Join(kept, ",") != strings.Join(want, ",") {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if _, again := RemovePair(out, "payments-archive"); len(again) != 0 {
		t.Errorf("a second removal removed %v", again)
	}
}
