package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/statemachine"
)

// kmsDataActions use key material; every grant of one must be limited to a
// service and to that service's encryption context.
var kmsDataActions = []string{"kms:decrypt", "kms:encrypt", "kms:generatedatakey", "kms:reencrypt"}

func isKMSData(action string) bool {
	a := strings.ToLower(action)
	for _, d := range kmsDataActions {
		if strings.HasPrefix(a, d) || a == "kms:*" || a == "*" {
			return true
		}
	}
	return false
}

// s3ObjectAction reports S3 actions on objects (as opposed to buckets).
func s3ObjectAction(action string) bool {
	a := strings.ToLower(action)
	return strings.HasPrefix(a, "s3:") && (strings.Contains(a, "object") || strings.HasPrefix(a, "s3:replicate"))
}

func conditionKeys(s Statement) map[string]string {
	keys := map[string]string{}
	for op, m := range s.Condition {
		for k := range m {
			keys[k] = op
		}
	}
	return keys
}

// TestKMSDataGrantsAreConditioned: no generated Allow statement grants a KMS
// data action without both kms:ViaService and an encryption-context
// condition, and through S3 the context must be aws:s3:arn.
func TestKMSDataGrantsAreConditioned(t *testing.T) {
	for name, doc := range generated() {
		if name == "default-key-policy" || strings.HasPrefix(name, "destination-key-policy-merged-") {
			// KMS's own root statement delegates to IAM; it grants nothing by
			// itself. The merged policies' s3crr statements are checked via
			// destination-key-statements-*.
			continue
		}
		for _, s := range doc.Statement {
			if s.Sid == DefaultKeyPolicySid {
				continue // the shared key policies keep KMS's root statement, as a real key does
			}
			if s.Effect != Allow || !slices.ContainsFunc(s.Action, isKMSData) {
				continue
			}
			keys := conditionKeys(s)
			if _, ok := keys[KeyViaService]; !ok {
				t.Errorf("%s %s: KMS data action without %s", name, s.Sid, KeyViaService)
			}
			via := strings.Join(s.Condition[StringEquals][KeyViaService], ",") + strings.Join(s.Condition[StringLike][KeyViaService], ",")
			hasContext := false
			for k := range keys {
				if strings.HasPrefix(k, "kms:EncryptionContext:") {
					hasContext = true
				}
			}
			if !hasContext {
				t.Errorf("%s %s: KMS data action without an encryption-context condition", name, s.Sid)
			}
			if strings.HasPrefix(via, "s3.") {
				if _, ok := keys[KeyS3Context]; !ok {
					t.Errorf("%s %s: KMS through S3 without %s", name, s.Sid, KeyS3Context)
				}
			}
		}
	}
}

// pinnedToReplicationRoles reports whether a statement to Principal "*" names who by
// documented condition keys, as the shared destination grants do: aws:PrincipalArn
// ArnLike s3crr's replication role pattern, and a fixed organization or account list.
func pinnedToReplicationRoles(s Statement) bool {
	if !slices.Equal(s.Condition[ArnLike][KeyPrincipalARN], []string{ReplicationRolePattern()}) {
		return false
	}
	who := append(append([]string(nil), s.Condition[StringEquals][KeyPrincipalOrgID]...), s.Condition[StringEquals][KeyPrincipalAccount]...)
	for _, v := range who {
		if strings.ContainsAny(v, "*?$") {
			return false
		}
	}
	return len(who) > 0
}

// TestNoWildcardResources: identity policies never grant KMS or S3 object
// actions on "*", and the replication role never on key/* patterns; resource
// policies (Principal set) name a specific principal for Allow, never "*" unless pinned
// to s3crr's replication roles by condition keys (pinnedToReplicationRoles).
func TestNoWildcardResources(t *testing.T) {
	// Actions that support no resource-level permission and are scoped by
	// conditions instead.
	noResourceLevel := map[string]bool{"kms:createkey": true, "kms:listkeys": true, "kms:tagresource": true, "cloudwatch:putmetricdata": true}
	for name, doc := range generated() {
		if name == "default-key-policy" || strings.HasPrefix(name, "destination-key-policy-merged-") {
			continue
		}
		for _, s := range doc.Statement {
			if s.Effect != Allow || s.Sid == DefaultKeyPolicySid {
				continue
			}
			for _, a := range s.Action {
				if strings.Contains(a, "*") {
					t.Errorf("%s %s: wildcard action %q", name, s.Sid, a)
				}
			}
			if s.Principal != nil {
				if (s.Principal.All || slices.Contains(s.Principal.AWS, "*")) && !pinnedToReplicationRoles(s) {
					t.Errorf("%s %s: Allow to everyone", name, s.Sid)
				}
				continue
			}
			for _, a := range s.Action {
				la := strings.ToLower(a)
				kms := strings.HasPrefix(la, "kms:")
				if !kms && !s3ObjectAction(a) {
					continue
				}
				for _, r := range s.Resource {
					if r == "*" && !noResourceLevel[la] {
						t.Errorf("%s %s: %s on resource *", name, s.Sid, a)
					}
					if strings.HasPrefix(name, "replication-role-") && strings.HasSuffix(r, "key/*") {
						t.Errorf("%s %s: %s on key/* wildcard", name, s.Sid, a)
					}
				}
			}
		}
	}
}

// TestNoTutorialMistakes checks the replication role and destination
// documents against the tutorials' errors listed in docs/aws-facts.md#F-REPL-ROLE-PERMS.
func TestNoTutorialMistakes(t *testing.T) {
	for name, p := range pairConfigs() {
		role := ReplicationRolePolicy(p)
		src, dst := BucketARN(p.SourceBucket), BucketARN(p.DestinationBucket)
		for _, s := range role.Statement {
			for _, a := range s.Action {
				for _, r := range s.Resource {
					switch {
					case strings.HasPrefix(r, dst) && strings.HasPrefix(a, "s3:Get"):
						t.Errorf("%s: %s granted on the destination %s", name, a, r)
					case strings.HasPrefix(r, src) && strings.HasPrefix(a, "s3:Replicate"):
						t.Errorf("%s: %s granted on the source %s", name, a, r)
					}
				}
				if a == "s3:GetObjectVersion" {
					t.Errorf("%s: s3:GetObjectVersion does not allow SSE-KMS replication", name)
				}
				if strings.HasPrefix(a, "kms:ReEncrypt") || strings.HasSuffix(a, "*") {
					t.Errorf("%s: over-broad %s", name, a)
				}
			}
		}
		for _, s := range DestinationBucketStatements(p) {
			for _, a := range s.Action {
				if strings.HasPrefix(a, "s3:Get") || strings.HasPrefix(a, "s3:List") || a == "s3:PutBucketVersioning" {
					t.Errorf("%s: destination bucket policy grants %s", name, a)
				}
			}
		}
		// Cross-account, the role policy and the destination key policy must
		// both allow each call on the destination key, Bucket Key calls
		// included (docs/aws-facts.md#F-BUCKET-KEY).
		iam := actionsOf(role, SidFor(p.PairID, PurposeReplicaEncrypt))
		key := DestinationKeyStatements(p)[0].Action
		if !slices.Equal(iam, key) {
			t.Errorf("%s: role policy %v and destination key policy %v disagree", name, iam, key)
		}
		for _, want := range []string{ActKMSEncrypt, ActKMSGenerateDataKey, ActKMSDecrypt} {
			if !slices.Contains(key, want) {
				t.Errorf("%s: destination key grant %v lacks %s, which a replica of a Bucket Key object needs", name, key, want)
			}
		}
	}
}

func actionsOf(d Document, sid string) []string {
	for _, s := range d.Statement {
		if s.Sid == sid {
			return s.Action
		}
	}
	return nil
}

// TestOptionsAddExactlyTheirActions: each option adds its actions and
// nothing else, and without it they are absent.
func TestOptionsAddExactlyTheirActions(t *testing.T) {
	base := pairConfigs()["plain"]
	all := func(p ReplicationParams) []string {
		var out []string
		for _, d := range []Document{ReplicationTrustPolicy(p), ReplicationRolePolicy(p),
			statements(SourceKeyStatements(p)...), statements(DestinationKeyStatements(p)...),
			statements(DestinationBucketStatements(p)...)} {
			for _, s := range d.Statement {
				for _, a := range s.Action {
					out = append(out, s.Sid+" "+a)
				}
				if s.Principal != nil {
					for _, sv := range s.Principal.Service {
						out = append(out, s.Sid+" service "+sv)
					}
				}
			}
		}
		return out
	}
	tests := []struct {
		name string
		set  func(*ReplicationParams)
		want []string
	}{
		{"owner override", func(p *ReplicationParams) { p.OwnerOverride = true }, []string{
			"S3crrPaymentsArchiveReplicaWrite s3:ObjectOwnerOverrideToBucketOwner",
			"S3crrPaymentsArchiveReplicaWrite s3:ObjectOwnerOverrideToBucketOwner",
		}},
		{"object lock", func(p *ReplicationParams) { p.ObjectLock = true }, []string{
			"S3crrPaymentsArchiveSourceObjects s3:GetObjectRetention",
			"S3crrPaymentsArchiveSourceObjects s3:GetObjectLegalHold",
		}},
		{"batch replication", func(p *ReplicationParams) { p.BatchReplication = true }, []string{
			"S3crrPaymentsArchiveReplicationTrust service batchoperations.s3.amazonaws.com",
		}},
	}
	before := all(base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			tt.set(&p)
			after := all(p)
			added := multisetDiff(after, before)
			slices.Sort(added)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(added, want) {
				t.Errorf("added %v, want %v", added, want)
			}
			if removed := multisetDiff(before, after); len(removed) > 0 {
				t.Errorf("option removed %v", removed)
			}
		})
	}
}

func multisetDiff(a, b []string) []string {
	count := map[string]int{}
	for _, s := range b {
		count[s]++
	}
	var out []string
	for _, s := range a {
		if count[s] > 0 {
			count[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

// TestSids: every statement s3crr writes has an S3crr Sid, unique in its
// document, that ParseSid understands.
func TestSids(t *testing.T) {
	for name, doc := range generated() {
		seen := map[string]bool{}
		for _, s := range doc.Statement {
			if s.Sid == DefaultKeyPolicySid {
				continue
			}
			if !IsOurs(s.Sid) {
				t.Errorf("%s: Sid %q lacks %s", name, s.Sid, SidPrefix)
			}
			if _, _, ok := ParseSid(s.Sid); !ok {
				t.Errorf("%s: ParseSid(%q) failed", name, s.Sid)
			}
			if seen[s.Sid] {
				t.Errorf("%s: duplicate Sid %q", name, s.Sid)
			}
			seen[s.Sid] = true
			for _, r := range s.Sid {
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
					t.Errorf("%s: Sid %q has %q; IAM allows only letters and digits", name, s.Sid, r)
				}
			}
		}
	}
}

// TestRequirementTableMatchesDocuments: every Allow action in every generated
// document has a RequiredBy entry, and every entry is used by some document,
// so the permission-minimality test has an expectation for each action.
func TestRequirementTableMatchesDocuments(t *testing.T) {
	used := map[reqKey]bool{}
	for name, doc := range generated() {
		for _, s := range doc.Statement {
			if s.Effect != Allow || s.Sid == DefaultKeyPolicySid {
				continue
			}
			for _, a := range s.Action {
				r, ok := RequiredBy(s.Sid, a)
				if !ok {
					t.Errorf("%s %s %s: no RequiredBy entry", name, s.Sid, a)
					continue
				}
				used[reqKey{r.Purpose, strings.ToLower(r.Action)}] = true
				if r.Failure == "" && len(r.Stages) == 0 {
					t.Errorf("%s %s %s: entry names neither a failure nor a stage", name, s.Sid, a)
				}
			}
		}
	}
	for _, r := range Requirements() {
		if !used[reqKey{r.Purpose, strings.ToLower(r.Action)}] {
			t.Errorf("requirement %s %s is in no generated document", r.Purpose, r.Action)
		}
	}
}

// TestRequiredByFailureCodes pins the documented failure for the actions the
// simulator's end-to-end test also removes.
func TestRequiredByFailureCodes(t *testing.T) {
	p := pairConfigs()["full"]
	tests := []struct {
		give       string // Sid purpose
		giveAction string
		want       string
	}{
		{PurposeReplicationTrust, "sts:AssumeRole", "AssumeRoleNotPermitted"},
		{PurposeSourceObjects, "s3:GetObjectVersionForReplication", "SrcGetObjectNotPermitted"},
		{PurposeReplicaWrite, "s3:ReplicateObject", "DstPutObjectNotPermitted"},
		{PurposeReplicaWrite, "s3:ReplicateDelete", "DstDelObjNotPermitted"},
		{PurposeReplicaWrite, "s3:ReplicateTags", "DstPutTaggingNotPermitted"},
		{PurposeSourceObjects, "s3:GetObjectVersionTagging", "SrcGetTaggingNotPermitted"},
		{PurposeSourceObjects, "s3:GetObjectVersionAcl", "SrcGetAclNotPermitted"},
		{PurposeSourceDecrypt, "kms:Decrypt", "SrcGetObjectNotPermitted"},
		{PurposeReplicaEncrypt, "kms:Encrypt", "DstPutObjectNotPermitted"},
		{PurposeReplicaEncrypt, "KMS:encrypt", "DstPutObjectNotPermitted"},
	}
	for _, tt := range tests {
		t.Run(tt.give+" "+tt.giveAction, func(t *testing.T) {
			r, ok := RequiredBy(SidFor(p.PairID, tt.give), tt.giveAction)
			if !ok || r.Failure != tt.want {
				t.Errorf("RequiredBy = %q, %v; want %q", r.Failure, ok, tt.want)
			}
		})
	}
	if _, ok := RequiredBy("ForeignSid", "s3:ReplicateObject"); ok {
		t.Error("RequiredBy accepted a foreign Sid")
	}
	if _, ok := RequiredBy(SidFor(p.PairID, PurposeReplicaWrite), "s3:GetObject"); ok {
		t.Error("RequiredBy accepted an action s3crr does not grant there")
	}
	if r, ok := RequiredBy(SidPrefix+PurposeRoleCreate, "iam:CreateRole"); !ok || r.Stages[0] != names.StageRole {
		t.Errorf("RequiredBy(RoleCreate) = %+v, %v", r, ok)
	}
}

func TestPurposesAreNotSuffixesOfEachOther(t *testing.T) {
	for _, a := range purposes {
		for _, b := range purposes {
			if a != b && strings.HasSuffix(a, b) {
				t.Errorf("purpose %q ends with purpose %q: ParseSid would be ambiguous", a, b)
			}
		}
	}
}

func TestSidFor(t *testing.T) {
	tests := []struct {
		give, givePurpose, want string
	}{
		{"payments-archive", PurposeReplicaEncrypt, "S3crrPaymentsArchiveReplicaEncrypt"},
		{"a1-b2-c3", PurposeSourceBucket, "S3crrA1B2C3SourceBucket"},
		{"logs", PurposeReplicaWrite, "S3crrLogsReplicaWrite"},
		{"x.y_z", PurposeSourceDecrypt, "S3crrXYZSourceDecrypt"},
	}
	for _, tt := range tests {
		got := SidFor(tt.give, tt.givePurpose)
		if got != tt.want {
			t.Errorf("SidFor(%q, %q) = %q, want %q", tt.give, tt.givePurpose, got, tt.want)
		}
		pair, purpose, ok := ParseSid(got)
		if !ok || purpose != tt.givePurpose || SidPrefix+pair+purpose != got {
			t.Errorf("ParseSid(%q) = %q, %q, %v", got, pair, purpose, ok)
		}
	}
	if _, _, ok := ParseSid("Enable IAM User Permissions"); ok {
		t.Error("ParseSid accepted a foreign Sid")
	}
	if _, _, ok := ParseSid("S3crrSomethingElse"); ok {
		t.Error("ParseSid accepted an unknown purpose")
	}
	if pair, purpose, ok := ParseSid(SidDenyInsecureTransport); !ok || pair != "" || purpose != "DenyInsecureTransport" {
		t.Errorf("ParseSid(%q) = %q, %q, %v", SidDenyInsecureTransport, pair, purpose, ok)
	}
}

func TestHelpers(t *testing.T) {
	tests := []struct{ got, want string }{
		{ViaS3("ap-south-1"), "s3.ap-south-1.amazonaws.com"},
		{BucketARN("b"), "arn:aws:s3:::b"},
		{ObjectsARN("b", ""), "arn:aws:s3:::b/*"},
		{ObjectsARN("b", "logs/"), "arn:aws:s3:::b/logs/*"},
		{CanaryPrefix("logs/"), "logs/.s3crr-canary/"},
		{RoleARN("1", "/s3crr/", "r"), "arn:aws:iam::1:role/s3crr/r"},
		{RoleARN("1", "s3crr", "r"), "arn:aws:iam::1:role/s3crr/r"},
		{RoleARN("1", "", "r"), "arn:aws:iam::1:role/r"},
		{names.BoundaryPolicyARN("1"), "arn:aws:iam::1:policy/s3crr/s3crr-replication-boundary"},
		{KeyARN("us-east-1", "1", "k"), "arn:aws:kms:us-east-1:1:key/k"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// The canary prefix falls under the rule's object grant.
	if !GlobMatch(ObjectsARN("b", "logs/"), BucketARN("b")+"/"+CanaryPrefix("logs/")+"c1") {
		t.Error("canary key not covered by the rule's object ARN")
	}
}

// TestSourceKeyGrantRule: the source key statement is needed exactly when
// the key policy does not delegate to IAM.
func TestSourceKeyGrantRule(t *testing.T) {
	p := pairConfigs()["plain"]
	custom := Document{Version: Version, Statement: []Statement{{
		Sid: "KeyAdmins", Effect: Allow, Principal: AWSPrincipal("arn:aws:iam::111111111111:role/admin"),
		Action: []string{"kms:*"}, Resource: []string{"*"},
	}}}
	accountID := Document{Version: Version, Statement: []Statement{{
		Effect: Allow, Principal: AWSPrincipal(acctA), Action: []string{"kms:Decrypt"}, Resource: []string{"*"},
	}}}
	conditioned := DefaultKeyPolicy(acctA)
	conditioned.Statement[0].Condition = map[string]map[string][]string{StringEquals: {"kms:CallerAccount": {acctA}}}
	otherAccount := DefaultKeyPolicy(acctB)
	tests := []struct {
		name string
		give Document
		want bool
	}{
		{"default key policy delegates", DefaultKeyPolicy(acctA), false},
		{"account ID principal delegates", accountID, false},
		{"custom policy without root", custom, true},
		{"conditioned root statement", conditioned, true},
		{"another account's root", otherAccount, true},
		{"empty policy", Document{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SourceKeyNeedsGrant(tt.give, p); got != tt.want {
				t.Errorf("SourceKeyNeedsGrant = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestProvisionerScopes spot-checks the scoping conditions the brief
// requires of the provisioner.
func TestProvisionerScopes(t *testing.T) {
	p := provisionerConfigs()["scoped"]
	doc := ProvisionerPolicy(p)
	find := func(purpose string) Statement {
		for _, s := range doc.Statement {
			if s.Sid == SidPrefix+purpose {
				return s
			}
		}
		t.Fatalf("no %s statement", purpose)
		return Statement{}
	}
	if got := find(PurposeRoleCreate).Condition[StringEquals][KeyPermissionsBound]; !slices.Equal(got, []string{"arn:aws:iam::222222222222:policy/s3crr/s3crr-replication-boundary"}) {
		t.Errorf("CreateRole boundary condition = %v", got)
	}
	// Each kind of role may be passed only to the service that assumes it.
	if got := find(PurposePassRole); !slices.Equal(got.Condition[StringEquals][KeyPassedToService], []string{S3Service}) ||
		!slices.Equal(got.Resource, []string{"arn:aws:iam::222222222222:role/s3crr/s3crr-repl-*"}) {
		t.Errorf("PassRole of replication roles = %v on %v", got.Condition, got.Resource)
	}
	if got := find(PurposePassBatchRole); !slices.Equal(got.Condition[StringEquals][KeyPassedToService], []string{BatchOperationsService}) ||
		!slices.Equal(got.Resource, []string{"arn:aws:iam::222222222222:role/s3crr/s3crr-batch-*"}) {
		t.Errorf("PassRole of Batch roles = %v on %v", got.Condition, got.Resource)
	}
	if got := find(PurposeKeyCreate).Condition[StringEquals]; got[KeyKMSKeySpec][0] != "SYMMETRIC_DEFAULT" || got[KeyKMSKeyUsage][0] != "ENCRYPT_DECRYPT" {
		t.Errorf("CreateKey conditions = %v", got)
	}
	for _, s := range doc.Statement {
		for _, r := range s.Resource {
			if strings.HasPrefix(r, "arn:aws:s3:::") && !strings.HasPrefix(r, "arn:aws:s3:::payments-*") {
				t.Errorf("%s: S3 resource %s outside the bucket pattern", s.Sid, r)
			}
			// The one exception is the read-only lookup of a replication role
			// that does not exist yet (IAM authorizes it without the path).
			lookup := s.Sid == SidPrefix+PurposeRoleLookup && (r == "arn:aws:iam::222222222222:role/s3crr-repl-*" || r == "arn:aws:iam::222222222222:role/s3crr-batch-*") && slices.Equal(s.Action, []string{"iam:GetRole"})
			if strings.HasPrefix(r, "arn:aws:iam::") && !strings.HasPrefix(r, "arn:aws:iam::222222222222:role/s3crr/") && !lookup {
				t.Errorf("%s: IAM resource %s outside /s3crr/ in the account", s.Sid, r)
			}
			if strings.HasPrefix(r, "arn:aws:kms:") && !strings.HasPrefix(r, "arn:aws:kms:*:222222222222:") {
				t.Errorf("%s: KMS resource %s outside the account", s.Sid, r)
			}
		}
	}
	// Role deletes only on roles carrying s3crr's creation tag.
	if got := find(PurposeRoleTeardown).Condition[StringEquals][ResourceTagKey("s3crr:managed-by")]; !slices.Equal(got, []string{"s3crr"}) {
		t.Errorf("role teardown condition = %v", got)
	}
	// Key deletion only on keys carrying s3crr's creation tag.
	if got := find(PurposeKeyDiscard).Condition[StringEquals][ResourceTagKey("s3crr:managed-by")]; !slices.Equal(got, []string{"s3crr"}) {
		t.Errorf("key deletion condition = %v", got)
	}
	trust := ProvisionerTrustPolicy(p).Statement[0]
	if trust.Condition[StringEquals][KeyExternalID][0] != "s3crr-7f3a" || len(trust.Condition[ArnLike][KeyPrincipalArn]) != 1 {
		t.Errorf("trust conditions = %v", trust.Condition)
	}
	// Alarms: only s3crr's alarms in the account, in any region (source regions vary
	// by pair), and only the two calls the events stage makes and the destroy stage's delete.
	alarms := find(PurposeAlarms)
	if !slices.Equal(alarms.Resource, []string{"arn:aws:cloudwatch:*:222222222222:alarm:s3crr-*"}) ||
		!slices.Equal(alarms.Action, []string{"cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"}) {
		t.Errorf("alarm statement = %v on %v", alarms.Action, alarms.Resource)
	}
	if !GlobMatch(alarms.Resource[0], "arn:aws:cloudwatch:ap-south-1:222222222222:alarm:s3crr-payments-archive-failed-replication") {
		t.Error("alarm grant does not cover a pair's alarm")
	}
	for _, arn := range []string{"arn:aws:cloudwatch:ap-south-1:222222222222:alarm:billing-high", "arn:aws:cloudwatch:ap-south-1:111111111111:alarm:s3crr-x"} {
		if GlobMatch(alarms.Resource[0], arn) {
			t.Errorf("alarm grant covers %s", arn)
		}
	}
}

// TestHubAssumesOnlyProvisioners: the provision Lambda may assume only the
// provisioner role in each member account, only with the ExternalId.
func TestHubAssumesOnlyProvisioners(t *testing.T) {
	h := hubConfigs()["encrypted"]
	for _, doc := range []Document{ProvisionFunctionPolicy(h)} {
		s := doc.Statement[0]
		want := []string{"arn:aws:iam::111111111111:role/platform/acme-s3crr-provisioner", "arn:aws:iam::222222222222:role/platform/acme-s3crr-provisioner"}
		if !slices.Equal(s.Resource, want) || s.Condition[StringEquals][KeyExternalID][0] != h.ExternalID {
			t.Errorf("assume statement = %+v", s)
		}
	}
	for _, doc := range []Document{ProvisionFunctionPolicy(h), StateMachinePolicy(h)} {
		for _, s := range doc.Statement {
			if slices.Contains(s.Action, "sts:AssumeRole") && s.Sid != SidPrefix+PurposeAssumeProvisioner {
				t.Errorf("%s grants sts:AssumeRole", s.Sid)
			}
		}
	}
}

// TestSizeLimits keeps every document within its AWS size limit with room to
// spare: inline role policies 10,240 characters (IAM ignores whitespace),
// bucket policies 20 KB, key policies 32 KB. The compact rendering is what
// s3crr sends.
func TestSizeLimits(t *testing.T) {
	for name, doc := range generated() {
		limit := 10240
		switch {
		case strings.Contains(name, "bucket-statements"):
			limit = 20 * 1024
		case strings.Contains(name, "key"):
			limit = 32 * 1024
		}
		spare := limit / 2
		if strings.HasPrefix(name, "provisioner-policy-") {
			// The provisioner does a pair's whole life (provision, re-drive, teardown):
			// 60% still leaves over 4,000 characters for what comes next, and past that
			// its grants belong in a second inline policy, not in fewer conditions.
			spare = limit * 6 / 10
		}
		if n := len(doc.JSON()); n > spare {
			t.Errorf("%s: %d bytes, over %d of the %d limit", name, n, spare, limit)
		}
	}
}

// TestProvisionerCannotChangeItself: the default provisioner role is outside
// the path whose roles the provisioner may change.
func TestProvisionerCannotChangeItself(t *testing.T) {
	self := RoleARN(acctA, "/", names.ProvisionerRoleName)
	for _, s := range ProvisionerPolicy(provisionerConfigs()["default"]).Statement {
		for _, a := range s.Action {
			if !strings.HasPrefix(a, "iam:") {
				continue
			}
			for _, r := range s.Resource {
				if GlobMatch(r, self) {
					t.Errorf("%s: %s reaches the provisioner role itself via %s", s.Sid, a, r)
				}
			}
		}
	}
	if !GlobMatch("arn:aws:iam::111111111111:role/s3crr/*", RoleARN(acctA, names.RolePath, "s3crr-repl-x")) {
		t.Error("glob check is broken")
	}
}

// TestStateMachinePolicyMatchesTheASL: the state machine role may make exactly the
// service calls the provision ASL's integrations make (lambda:invoke, sns:publish,
// dynamodb:putItem...), no more and none missing; KMS is the encrypted topic's and
// comes with sns:Publish.
func TestStateMachinePolicyMatchesTheASL(t *testing.T) {
	raw, err := statemachine.Raw(statemachine.Provision)
	if err != nil {
		t.Fatal(err)
	}
	var def any
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	// IAM actions of the optimized integrations, by the ASL resource's service:api.
	iamAction := map[string]string{
		"lambda:invoke":       "lambda:InvokeFunction",
		"sns:publish":         "sns:Publish",
		"dynamodb:putItem":    "dynamodb:PutItem",
		"dynamodb:updateItem": "dynamodb:UpdateItem",
		"dynamodb:getItem":    "dynamodb:GetItem",
	}
	var want []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["Resource"].(string); ok && strings.HasPrefix(r, "arn:aws:states:::") {
				api := strings.TrimPrefix(r, "arn:aws:states:::")
				a, known := iamAction[api]
				if !known {
					t.Errorf("ASL integration %s has no IAM action in this test's table", api)
				}
				if !slices.Contains(want, a) {
					want = append(want, a)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(def)
	var got []string
	for _, s := range StateMachinePolicy(hubConfigs()["encrypted"]).Statement {
		for _, a := range s.Action {
			if !strings.HasPrefix(a, "kms:") && !slices.Contains(got, a) {
				got = append(got, a)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("state machine policy grants %v; the ASL's integrations need %v", got, want)
	}
}
