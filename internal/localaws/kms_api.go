package localaws

import (
	"crypto/rand"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The KMS API operations, JSON 1.1 (TrentService). Each handler runs with s.mu held and
// returns the response body or a KMS-coded error; serveKMS writes it.

type kmsHandler func(s *Server, c *call, body []byte) (any, *apiError)

var kmsHandlers = map[string]kmsHandler{
	"CreateKey":                       (*Server).kmsCreateKey,
	"DescribeKey":                     (*Server).kmsDescribeKey,
	"ListKeys":                        (*Server).kmsListKeys,
	"UpdateKeyDescription":            (*Server).kmsUpdateKeyDescription,
	"CreateAlias":                     (*Server).kmsCreateAlias,
	"UpdateAlias":                     (*Server).kmsUpdateAlias,
	"DeleteAlias":                     (*Server).kmsDeleteAlias,
	"ListAliases":                     (*Server).kmsListAliases,
	"GetKeyPolicy":                    (*Server).kmsGetKeyPolicy,
	"PutKeyPolicy":                    (*Server).kmsPutKeyPolicy,
	"ListKeyPolicies":                 (*Server).kmsListKeyPolicies,
	"EnableKey":                       (*Server).kmsEnableKey,
	"DisableKey":                      (*Server).kmsDisableKey,
	"ScheduleKeyDeletion":             (*Server).kmsScheduleKeyDeletion,
	"CancelKeyDeletion":               (*Server).kmsCancelKeyDeletion,
	"EnableKeyRotation":               (*Server).kmsEnableKeyRotation,
	"DisableKeyRotation":              (*Server).kmsDisableKeyRotation,
	"GetKeyRotationStatus":            (*Server).kmsGetKeyRotationStatus,
	"TagResource":                     (*Server).kmsTagResource,
	"UntagResource":                   (*Server).kmsUntagResource,
	"ListResourceTags":                (*Server).kmsListResourceTags,
	"Encrypt":                         (*Server).kmsAPIEncrypt,
	"Decrypt":                         (*Server).kmsAPIDecrypt,
	"GenerateDataKey":                 (*Server).kmsAPIGenerateDataKey,
	"GenerateDataKeyWithoutPlaintext": (*Server).kmsAPIGenerateDataKeyWithoutPlaintext,
	"ReEncrypt":                       (*Server).kmsAPIReEncrypt,
}

// kmsTag is a KMS resource tag as the API spells it.
type kmsTag struct {
	TagKey   string
	TagValue string
}

type kmsKeyMetadata struct {
	AWSAccountId                string
	Arn                         string
	CreationDate                float64
	CustomerMasterKeySpec       string
	DeletionDate                *float64 `json:",omitempty"`
	Description                 string
	Enabled                     bool
	EncryptionAlgorithms        []string
	KeyId                       string
	KeyManager                  string
	KeySpec                     string
	KeyState                    string
	KeyUsage                    string
	MultiRegion                 bool
	MultiRegionConfiguration    *kmsMultiRegionConfig `json:",omitempty"`
	Origin                      string
	PendingDeletionWindowInDays *int32 `json:",omitempty"`
}

type kmsMultiRegionConfig struct {
	MultiRegionKeyType string
	PrimaryKey         kmsMultiRegionKey
	ReplicaKeys        []kmsMultiRegionKey
}

type kmsMultiRegionKey struct {
	Arn    string
	Region string
}

func kmsMetadata(k *kmsKey) kmsKeyMetadata {
	m := kmsKeyMetadata{
		AWSAccountId:          k.account,
		Arn:                   k.arn,
		CreationDate:          kmsTime(k.created),
		CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
		Description:           k.description,
		Enabled:               k.enabled && !k.pendingDeletion,
		EncryptionAlgorithms:  []string{"SYMMETRIC_DEFAULT"},
		KeyId:                 k.id,
		KeyManager:            "CUSTOMER",
		KeySpec:               "SYMMETRIC_DEFAULT",
		KeyState:              k.keyState(),
		KeyUsage:              "ENCRYPT_DECRYPT",
		MultiRegion:           k.multiRegion,
		Origin:                "AWS_KMS",
	}
	if k.awsManaged {
		m.KeyManager = "AWS"
	}
	if k.pendingDeletion {
		d := kmsTime(k.deletionDate)
		days := k.pendingDays
		m.DeletionDate, m.PendingDeletionWindowInDays = &d, &days
	}
	if k.multiRegion {
		// The simulator has no ReplicateKey: a multi-Region key is a primary without
		// replicas, which is also how S3 treats it (as a single-Region key).
		m.MultiRegionConfiguration = &kmsMultiRegionConfig{
			MultiRegionKeyType: "PRIMARY",
			PrimaryKey:         kmsMultiRegionKey{Arn: k.arn, Region: k.region},
			ReplicaKeys:        []kmsMultiRegionKey{},
		}
	}
	return m
}

var kmsKeySpecs = map[string]bool{
	"RSA_2048": true, "RSA_3072": true, "RSA_4096": true, "ECC_NIST_P256": true, "ECC_NIST_P384": true,
	"ECC_NIST_P521": true, "ECC_SECG_P256K1": true, "SYMMETRIC_DEFAULT": true, "HMAC_224": true, "HMAC_256": true,
	"HMAC_384": true, "HMAC_512": true, "SM2": true, "ML_DSA_44": true, "ML_DSA_65": true, "ML_DSA_87": true,
	"ECC_NIST_EDWARDS25519": true, "ML_KEM_512": true, "ML_KEM_768": true, "ML_KEM_1024": true,
}

var kmsKeyUsages = map[string]bool{
	"SIGN_VERIFY": true, "ENCRYPT_DECRYPT": true, "GENERATE_VERIFY_MAC": true, "KEY_AGREEMENT": true,
	"ENCAPSULATE_DECAPSULATE": true,
}

func kmsEnum(field, v string, allowed map[string]bool) *apiError {
	if allowed[v] {
		return nil
	}
	return errf(http.StatusBadRequest, "ValidationException",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
		v, field, strings.Join(sortedKeys(allowed), ", "))
}

// kmsCheckTags validates tags as TagResource and CreateKey do.
func kmsCheckTags(tags []kmsTag) *apiError {
	seen := map[string]bool{}
	for _, t := range tags {
		if len(t.TagKey) < 1 || len(t.TagKey) > 128 {
			return kmsValidation("tags.member.tagKey", "Member must have length between 1 and 128")
		}
		if len(t.TagValue) > 256 {
			return kmsValidation("tags.member.tagValue", "Member must have length less than or equal to 256")
		}
		if strings.HasPrefix(strings.ToLower(t.TagKey), "aws:") {
			return errf(http.StatusBadRequest, "TagException", "Tags beginning with aws: are reserved for AWS use")
		}
		if seen[t.TagKey] {
			return errf(http.StatusBadRequest, "TagException", "Duplicate tag keys: %s", t.TagKey)
		}
		seen[t.TagKey] = true
	}
	return nil
}

// kmsTagContext is the aws:RequestTag/* and aws:TagKeys context of a tagging request.
func kmsTagContext(ctx map[string][]string, tags []kmsTag) map[string][]string {
	return addRequestTagContext(ctx, tags, func(t kmsTag) (string, string) { return t.TagKey, t.TagValue })
}

// --- keys -------------------------------------------------------------------------------

type kmsCreateKeyIn struct {
	Policy                         *string
	Description                    *string
	KeyUsage                       string
	CustomerMasterKeySpec          string
	KeySpec                        string
	Origin                         string
	CustomKeyStoreId               *string
	XksKeyId                       *string
	BypassPolicyLockoutSafetyCheck bool
	Tags                           []kmsTag
	MultiRegion                    bool
}

func (s *Server) kmsCreateKey(c *call, body []byte) (any, *apiError) {
	var in kmsCreateKeyIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	spec := in.KeySpec
	if in.CustomerMasterKeySpec != "" {
		if spec != "" {
			return nil, errf(http.StatusBadRequest, "ValidationException",
				"You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.")
		}
		spec = in.CustomerMasterKeySpec
	}
	if spec == "" {
		spec = "SYMMETRIC_DEFAULT"
	}
	usage := in.KeyUsage
	if usage == "" {
		usage = "ENCRYPT_DECRYPT"
	}
	origin := in.Origin
	if origin == "" {
		origin = "AWS_KMS"
	}
	if err := kmsEnum("keySpec", spec, kmsKeySpecs); err != nil {
		return nil, err
	}
	if err := kmsEnum("keyUsage", usage, kmsKeyUsages); err != nil {
		return nil, err
	}
	if err := kmsEnum("origin", origin, map[string]bool{"AWS_KMS": true, "EXTERNAL": true, "AWS_CLOUDHSM": true, "EXTERNAL_KEY_STORE": true}); err != nil {
		return nil, err
	}
	if spec == "SYMMETRIC_DEFAULT" && usage != "ENCRYPT_DECRYPT" {
		return nil, errf(http.StatusBadRequest, "ValidationException",
			"KeyUsage %s is not compatible with KeySpec SYMMETRIC_DEFAULT", usage)
	}
	if spec != "SYMMETRIC_DEFAULT" {
		return nil, errf(http.StatusBadRequest, "UnsupportedOperationException",
			"localaws simulates only symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT), not %s", spec)
	}
	if origin != "AWS_KMS" || in.CustomKeyStoreId != nil || in.XksKeyId != nil {
		return nil, errf(http.StatusBadRequest, "UnsupportedOperationException",
			"localaws simulates only keys with Origin AWS_KMS in the default key store")
	}
	if in.Description != nil && len(*in.Description) > 8192 {
		return nil, kmsValidation("description", "Member must have length less than or equal to 8192")
	}
	if err := kmsCheckTags(in.Tags); err != nil {
		return nil, err
	}

	ctx := c.requestContext()
	ctx["kms:CallerAccount"] = []string{c.p.account}
	ctx["kms:KeySpec"] = []string{spec}
	ctx["kms:KeyUsage"] = []string{usage}
	ctx = kmsTagContext(ctx, in.Tags)
	if err := s.kmsAuthorizeAccount(c.p, "kms:CreateKey", "*", ctx); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		// Tagging at creation needs kms:TagResource too, granted in an IAM policy.
		if err := s.kmsAuthorizeAccount(c.p, "kms:TagResource", "*", ctx); err != nil {
			return nil, err
		}
	}

	// Validate the policy against the key-to-be (its ARN is what the lockout check asks
	// about) before storing anything.
	draft := &kmsKey{account: c.p.account, region: c.region, tags: map[string]string{}}
	id := newUUID()
	if in.MultiRegion {
		id = "mrk-" + strings.ReplaceAll(newUUID(), "-", "")
	}
	draft.id = id
	draft.arn = "arn:aws:kms:" + c.region + ":" + c.p.account + ":key/" + id
	doc := defaultKeyPolicy(c.p.account)
	if in.Policy != nil {
		doc = *in.Policy
	}
	parsed, err := s.kmsCheckPolicy(c.p, draft, doc, in.BypassPolicyLockoutSafetyCheck || in.Policy == nil, c.requestContext())
	if err != nil {
		return nil, err
	}

	material := make([]byte, 32)
	_, _ = rand.Read(material)
	k := draft
	k.created = s.now()
	k.enabled = true
	k.material = material
	k.multiRegion = in.MultiRegion
	if in.Description != nil {
		k.description = *in.Description
	}
	for _, t := range in.Tags {
		k.tags[t.TagKey] = t.TagValue
	}
	k.setPolicy(doc, parsed)
	s.kmsRegionOf(k.account, k.region).keys[k.id] = k
	return map[string]any{"KeyMetadata": kmsMetadata(k)}, nil
}

// kmsManagedKey resolves a KeyId for an operation on the key itself and authorizes it.
// Most management operations take only a key ID or key ARN (aliasOK false) and do not work
// across accounts (local true). The caller holds s.mu.
func (s *Server) kmsManagedKey(c *call, keyID, op string, aliasOK, local bool, ctx map[string][]string) (*kmsKey, *apiError) {
	if keyID == "" {
		return nil, kmsRequired("keyId")
	}
	if !aliasOK && (strings.HasPrefix(keyID, "alias/") || strings.Contains(keyID, ":alias/")) {
		return nil, errf(http.StatusBadRequest, "NotFoundException", "Invalid keyId '%s'", keyID)
	}
	k, alias, err := s.kmsResolveRef(c.p.account, c.region, keyID)
	if err != nil {
		return nil, err
	}
	if ctx == nil {
		ctx = c.requestContext()
	}
	if err := s.kmsAuthorizeKey(k, kmsUse{p: c.p, action: "kms:" + op, base: ctx, alias: alias, local: local}); err != nil {
		return nil, err
	}
	return k, nil
}

type kmsKeyIDIn struct {
	KeyId string
}

func (s *Server) kmsDescribeKey(c *call, body []byte) (any, *apiError) {
	var in kmsKeyIDIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "DescribeKey", true, false, nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": kmsMetadata(k)}, nil
}

type kmsPageIn struct {
	Limit  *int32
	Marker *string
}

// kmsPage cuts one page out of names (already in listing order); the marker is the name
// of the first item of the next page.
func kmsPage(names []string, in kmsPageIn, max, def int32) (from, to int, next string, err *apiError) {
	limit := def
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > max {
			return 0, 0, "", kmsValidation("limit", "Member must have value between 1 and "+strconv.Itoa(int(max)))
		}
		limit = *in.Limit
	}
	if in.Marker != nil {
		from = -1
		for i, n := range names {
			if n == *in.Marker {
				from = i
				break
			}
		}
		if from < 0 {
			return 0, 0, "", errf(http.StatusBadRequest, "InvalidMarkerException", "Invalid marker: %s", *in.Marker)
		}
	}
	to = from + int(limit)
	if to >= len(names) {
		return from, len(names), "", nil
	}
	return from, to, names[to], nil
}

func kmsPageOut(out map[string]any, next string) map[string]any {
	out["Truncated"] = next != ""
	if next != "" {
		out["NextMarker"] = next
	}
	return out
}

func (s *Server) kmsListKeys(c *call, body []byte) (any, *apiError) {
	var in kmsPageIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	ctx := c.requestContext()
	ctx["kms:CallerAccount"] = []string{c.p.account}
	if err := s.kmsAuthorizeAccount(c.p, "kms:ListKeys", "*", ctx); err != nil {
		return nil, err
	}
	reg := s.kmsRegionOf(c.p.account, c.region)
	keys := make([]*kmsKey, 0, len(reg.keys))
	for _, k := range reg.keys {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].created.Equal(keys[j].created) {
			return keys[i].created.Before(keys[j].created)
		}
		return keys[i].id < keys[j].id
	})
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	from, to, next, err := kmsPage(ids, in, 1000, 100)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]string, 0, to-from)
	for _, k := range keys[from:to] {
		list = append(list, map[string]string{"KeyId": k.id, "KeyArn": k.arn})
	}
	return kmsPageOut(map[string]any{"Keys": list}, next), nil
}

type kmsUpdateKeyDescriptionIn struct {
	KeyId       string
	Description *string
}

func (s *Server) kmsUpdateKeyDescription(c *call, body []byte) (any, *apiError) {
	var in kmsUpdateKeyDescriptionIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.Description == nil {
		return nil, kmsRequired("description")
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "UpdateKeyDescription", false, true, nil)
	if err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	k.description = *in.Description
	return nil, nil
}

func (s *Server) kmsEnableKey(c *call, body []byte) (any, *apiError) {
	return s.kmsSetEnabled(c, body, "EnableKey", true)
}

func (s *Server) kmsDisableKey(c *call, body []byte) (any, *apiError) {
	return s.kmsSetEnabled(c, body, "DisableKey", false)
}

func (s *Server) kmsSetEnabled(c *call, body []byte, op string, enabled bool) (any, *apiError) {
	var in kmsKeyIDIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, op, false, true, nil)
	if err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	k.enabled = enabled
	return nil, nil
}

type kmsScheduleKeyDeletionIn struct {
	KeyId               string
	PendingWindowInDays *int32
}

func (s *Server) kmsScheduleKeyDeletion(c *call, body []byte) (any, *apiError) {
	var in kmsScheduleKeyDeletionIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	days := int32(30)
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
		if days < 7 || days > 30 {
			return nil, errf(http.StatusBadRequest, "ValidationException",
				"1 validation error detected: Value '%d' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30", days)
		}
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "ScheduleKeyDeletion", false, true, nil)
	if err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	k.pendingDeletion = true
	k.enabled = false
	k.pendingDays = days
	k.deletionDate = s.now().Add(time.Duration(days) * 24 * time.Hour)
	return map[string]any{
		"KeyId":               k.arn,
		"DeletionDate":        kmsTime(k.deletionDate),
		"KeyState":            k.keyState(),
		"PendingWindowInDays": days,
	}, nil
}

func (s *Server) kmsCancelKeyDeletion(c *call, body []byte) (any, *apiError) {
	var in kmsKeyIDIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "CancelKeyDeletion", false, true, nil)
	if err != nil {
		return nil, err
	}
	if !k.pendingDeletion {
		return nil, errf(http.StatusBadRequest, "KMSInvalidStateException", "%s is not pending deletion.", k.arn)
	}
	// A key whose deletion is cancelled comes back Disabled, as in KMS.
	k.pendingDeletion = false
	k.enabled = false
	k.deletionDate = time.Time{}
	k.pendingDays = 0
	return map[string]any{"KeyId": k.arn}, nil
}

// --- rotation ---------------------------------------------------------------------------

type kmsEnableKeyRotationIn struct {
	KeyId                string
	RotationPeriodInDays *int32
}

func (s *Server) kmsEnableKeyRotation(c *call, body []byte) (any, *apiError) {
	var in kmsEnableKeyRotationIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	period := int32(365)
	if in.RotationPeriodInDays != nil {
		period = *in.RotationPeriodInDays
		if period < 90 || period > 2560 {
			return nil, errf(http.StatusBadRequest, "ValidationException",
				"1 validation error detected: Value '%d' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between 90 and 2560", period)
		}
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "EnableKeyRotation", false, true, nil)
	if err != nil {
		return nil, err
	}
	if err := k.usable(); err != nil {
		return nil, err
	}
	if !k.rotation || k.rotationPeriod != period {
		k.rotationStart = s.now()
	}
	k.rotation = true
	k.rotationPeriod = period
	return nil, nil
}

func (s *Server) kmsDisableKeyRotation(c *call, body []byte) (any, *apiError) {
	var in kmsKeyIDIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "DisableKeyRotation", false, true, nil)
	if err != nil {
		return nil, err
	}
	if err := k.usable(); err != nil {
		return nil, err
	}
	k.rotation = false
	return nil, nil
}

func (s *Server) kmsGetKeyRotationStatus(c *call, body []byte) (any, *apiError) {
	var in kmsKeyIDIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	// GetKeyRotationStatus works across accounts with a key ARN.
	k, err := s.kmsManagedKey(c, in.KeyId, "GetKeyRotationStatus", false, false, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"KeyId": k.id, "KeyRotationEnabled": k.rotation}
	if k.awsManaged {
		// AWS managed keys rotate every year and cannot be turned off.
		out["KeyRotationEnabled"] = true
		out["RotationPeriodInDays"] = 365
	}
	if k.rotation {
		out["RotationPeriodInDays"] = k.rotationPeriod
		out["NextRotationDate"] = kmsTime(k.rotationStart.Add(time.Duration(k.rotationPeriod) * 24 * time.Hour))
	}
	return out, nil
}

// --- key policies -----------------------------------------------------------------------

type kmsKeyPolicyIn struct {
	KeyId                          string
	PolicyName                     *string
	Policy                         *string
	BypassPolicyLockoutSafetyCheck bool
}

func kmsCheckPolicyName(name *string) *apiError {
	if name != nil && *name != "default" {
		return errf(http.StatusBadRequest, "NotFoundException", "No such policy exists: %s (the only key policy name is \"default\")", *name)
	}
	return nil
}

func (s *Server) kmsGetKeyPolicy(c *call, body []byte) (any, *apiError) {
	var in kmsKeyPolicyIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "GetKeyPolicy", false, true, nil)
	if err != nil {
		return nil, err
	}
	if err := kmsCheckPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	return map[string]any{"Policy": k.policyDoc, "PolicyName": "default"}, nil
}

func (s *Server) kmsListKeyPolicies(c *call, body []byte) (any, *apiError) {
	var in kmsKeyIDIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if _, err := s.kmsManagedKey(c, in.KeyId, "ListKeyPolicies", false, true, nil); err != nil {
		return nil, err
	}
	return map[string]any{"PolicyNames": []string{"default"}, "Truncated": false}, nil
}

func (s *Server) kmsPutKeyPolicy(c *call, body []byte) (any, *apiError) {
	var in kmsKeyPolicyIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.Policy == nil {
		return nil, kmsRequired("policy")
	}
	if err := kmsCheckPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "PutKeyPolicy", false, true, nil)
	if err != nil {
		return nil, err
	}
	parsed, err := s.kmsCheckPolicy(c.p, k, *in.Policy, in.BypassPolicyLockoutSafetyCheck, c.requestContext())
	if err != nil {
		return nil, err
	}
	k.setPolicy(*in.Policy, parsed)
	return nil, nil
}

// --- tags -------------------------------------------------------------------------------

type kmsTagResourceIn struct {
	KeyId   string
	Tags    []kmsTag
	TagKeys []string
}

func (s *Server) kmsTagResource(c *call, body []byte) (any, *apiError) {
	var in kmsTagResourceIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, kmsRequired("tags")
	}
	if err := kmsCheckTags(in.Tags); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "TagResource", false, true, kmsTagContext(c.requestContext(), in.Tags))
	if err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	if n := len(k.tags) + len(in.Tags); n > 50 {
		merged := map[string]bool{}
		for t := range k.tags {
			merged[t] = true
		}
		for _, t := range in.Tags {
			merged[t.TagKey] = true
		}
		if len(merged) > 50 {
			return nil, errf(http.StatusBadRequest, "LimitExceededException", "A KMS key can have at most 50 tags")
		}
	}
	for _, t := range in.Tags {
		k.tags[t.TagKey] = t.TagValue
	}
	return nil, nil
}

func (s *Server) kmsUntagResource(c *call, body []byte) (any, *apiError) {
	var in kmsTagResourceIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, kmsRequired("tagKeys")
	}
	ctx := c.requestContext()
	if len(in.TagKeys) > 0 {
		ctx["aws:TagKeys"] = in.TagKeys
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "UntagResource", false, true, ctx)
	if err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	for _, t := range in.TagKeys {
		delete(k.tags, t)
	}
	return nil, nil
}

type kmsListTagsIn struct {
	KeyId string
	kmsPageIn
}

func (s *Server) kmsListResourceTags(c *call, body []byte) (any, *apiError) {
	var in kmsListTagsIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	k, err := s.kmsManagedKey(c, in.KeyId, "ListResourceTags", false, true, nil)
	if err != nil {
		return nil, err
	}
	names := sortedKeys(k.tags)
	from, to, next, err := kmsPage(names, in.kmsPageIn, 50, 50)
	if err != nil {
		return nil, err
	}
	tags := make([]kmsTag, 0, to-from)
	for _, n := range names[from:to] {
		tags = append(tags, kmsTag{TagKey: n, TagValue: k.tags[n]})
	}
	return kmsPageOut(map[string]any{"Tags": tags}, next), nil
}

// --- aliases ----------------------------------------------------------------------------

var kmsAliasPattern = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)

// kmsCheckAliasName applies KMS's alias name rules, with its error codes.
func kmsCheckAliasName(name string) *apiError {
	if name == "" {
		return kmsRequired("aliasName")
	}
	if len(name) > 256 {
		return kmsValidation("aliasName", "Member must have length less than or equal to 256")
	}
	if !strings.HasPrefix(name, "alias/") || name == "alias/" {
		return errf(http.StatusBadRequest, "ValidationException", "Invalid identifier")
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return errf(http.StatusBadRequest, "NotAuthorizedException",
			"The alias/aws/ prefix is reserved for AWS managed keys")
	}
	if strings.Contains(strings.TrimPrefix(name, "alias/"), ":") {
		return errf(http.StatusBadRequest, "ValidationException", "%s contains invalid characters for an alias", name)
	}
	if !kmsAliasPattern.MatchString(name) {
		return errf(http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$", name)
	}
	return nil
}

func kmsAliasARN(region, account, name string) string {
	return "arn:aws:kms:" + region + ":" + account + ":" + name
}

type kmsAliasIn struct {
	AliasName   string
	TargetKeyId string
}

// kmsAuthorizeAlias checks op on the alias itself (identity policies, resource = the alias
// ARN) and on each key the alias points at or will point at (key policies).
func (s *Server) kmsAuthorizeAlias(c *call, op, name string, keys ...*kmsKey) *apiError {
	ctx := c.requestContext()
	ctx["kms:CallerAccount"] = []string{c.p.account}
	if err := s.kmsAuthorizeAccount(c.p, "kms:"+op, kmsAliasARN(c.region, c.p.account, name), ctx); err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.kmsAuthorizeKey(k, kmsUse{p: c.p, action: "kms:" + op, base: c.requestContext(), local: true}); err != nil {
			return err
		}
	}
	return nil
}

// kmsAliasTarget resolves the TargetKeyId of CreateAlias/UpdateAlias: a key ID or key ARN
// of the caller's account, never another alias.
func (s *Server) kmsAliasTarget(c *call, target string) (*kmsKey, *apiError) {
	if target == "" {
		return nil, kmsRequired("targetKeyId")
	}
	if strings.HasPrefix(target, "alias/") || strings.Contains(target, ":alias/") {
		return nil, errf(http.StatusBadRequest, "ValidationException", "Aliases must refer to keys. Not aliases")
	}
	k, _, err := s.kmsResolveRef(c.p.account, c.region, target)
	return k, err
}

func (s *Server) kmsCreateAlias(c *call, body []byte) (any, *apiError) {
	var in kmsAliasIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckAliasName(in.AliasName); err != nil {
		return nil, err
	}
	k, err := s.kmsAliasTarget(c, in.TargetKeyId)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorizeAlias(c, "CreateAlias", in.AliasName, k); err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	reg := s.kmsRegionOf(c.p.account, c.region)
	if _, ok := reg.aliases[in.AliasName]; ok {
		return nil, errf(http.StatusBadRequest, "AlreadyExistsException", "An alias with the name %s already exists",
			kmsAliasARN(c.region, c.p.account, in.AliasName))
	}
	reg.aliases[in.AliasName] = k.id
	now := s.now()
	reg.aliasTimes[in.AliasName] = [2]time.Time{now, now}
	return nil, nil
}

// kmsExistingAlias returns the key an alias of the caller's account points at.
func (s *Server) kmsExistingAlias(c *call, name string) (*kmsRegion, *kmsKey, *apiError) {
	reg := s.kmsRegionOf(c.p.account, c.region)
	id, ok := reg.aliases[name]
	if !ok || reg.keys[id] == nil {
		return nil, nil, errf(http.StatusBadRequest, "NotFoundException", "Alias %s is not found.",
			kmsAliasARN(c.region, c.p.account, name))
	}
	return reg, reg.keys[id], nil
}

func (s *Server) kmsUpdateAlias(c *call, body []byte) (any, *apiError) {
	var in kmsAliasIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckAliasName(in.AliasName); err != nil {
		return nil, err
	}
	reg, old, err := s.kmsExistingAlias(c, in.AliasName)
	if err != nil {
		return nil, err
	}
	k, err := s.kmsAliasTarget(c, in.TargetKeyId)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorizeAlias(c, "UpdateAlias", in.AliasName, old, k); err != nil {
		return nil, err
	}
	if err := k.notPendingDeletion(); err != nil {
		return nil, err
	}
	reg.aliases[in.AliasName] = k.id
	t := reg.aliasTimes[in.AliasName]
	t[1] = s.now()
	reg.aliasTimes[in.AliasName] = t
	return nil, nil
}

func (s *Server) kmsDeleteAlias(c *call, body []byte) (any, *apiError) {
	var in kmsAliasIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckAliasName(in.AliasName); err != nil {
		return nil, err
	}
	reg, k, err := s.kmsExistingAlias(c, in.AliasName)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorizeAlias(c, "DeleteAlias", in.AliasName, k); err != nil {
		return nil, err
	}
	delete(reg.aliases, in.AliasName)
	delete(reg.aliasTimes, in.AliasName)
	return nil, nil
}

type kmsListAliasesIn struct {
	KeyId *string
	kmsPageIn
}

type kmsAliasEntry struct {
	AliasName       string
	AliasArn        string
	TargetKeyId     string
	CreationDate    float64
	LastUpdatedDate float64
}

func (s *Server) kmsListAliases(c *call, body []byte) (any, *apiError) {
	var in kmsListAliasesIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	ctx := c.requestContext()
	ctx["kms:CallerAccount"] = []string{c.p.account}
	if err := s.kmsAuthorizeAccount(c.p, "kms:ListAliases", "*", ctx); err != nil {
		return nil, err
	}
	only := ""
	if in.KeyId != nil {
		if strings.HasPrefix(*in.KeyId, "alias/") || strings.Contains(*in.KeyId, ":alias/") {
			return nil, errf(http.StatusBadRequest, "NotFoundException", "Invalid keyId '%s'", *in.KeyId)
		}
		k, _, err := s.kmsResolveRef(c.p.account, c.region, *in.KeyId)
		if err != nil {
			return nil, err
		}
		if k.account != c.p.account {
			return nil, errf(http.StatusBadRequest, "AccessDeniedException",
				"User: %s is not authorized to perform: kms:ListAliases on resource: %s because ListAliases lists only the caller's own aliases", c.p.arn, k.arn)
		}
		only = k.id
	}
	reg := s.kmsRegionOf(c.p.account, c.region)
	var names []string
	for _, n := range sortedKeys(reg.aliases) {
		if only == "" || reg.aliases[n] == only {
			names = append(names, n)
		}
	}
	from, to, next, err := kmsPage(names, in.kmsPageIn, 100, 50)
	if err != nil {
		return nil, err
	}
	list := make([]kmsAliasEntry, 0, to-from)
	for _, n := range names[from:to] {
		t := reg.aliasTimes[n]
		list = append(list, kmsAliasEntry{
			AliasName:       n,
			AliasArn:        kmsAliasARN(c.region, c.p.account, n),
			TargetKeyId:     reg.aliases[n],
			CreationDate:    kmsTime(t[0]),
			LastUpdatedDate: kmsTime(t[1]),
		})
	}
	return kmsPageOut(map[string]any{"Aliases": list}, next), nil
}

// --- cryptographic operations -----------------------------------------------------------

// kmsCheckAlgorithm accepts the one algorithm of symmetric keys.
func kmsCheckAlgorithm(field, alg string) *apiError {
	switch alg {
	case "", "SYMMETRIC_DEFAULT":
		return nil
	case "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE":
		return errf(http.StatusBadRequest, "InvalidKeyUsageException",
			"The encryption algorithm %s is not compatible with the type of key spec SYMMETRIC_DEFAULT", alg)
	}
	return errf(http.StatusBadRequest, "ValidationException",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]", alg, field)
}

func kmsDryRun() *apiError {
	return errf(http.StatusPreconditionFailed, "DryRunOperationException",
		"The request would have succeeded, but the DryRun option is set.")
}

// kmsRecipient is the Nitro Enclaves attestation parameter of Decrypt and GenerateDataKey.
type kmsRecipient struct {
	KeyEncryptionAlgorithm string
	AttestationDocument    []byte
}

func kmsNoRecipient(r *kmsRecipient) *apiError {
	if r != nil {
		return errf(http.StatusBadRequest, "UnsupportedOperationException",
			"localaws does not simulate Nitro Enclaves attestation (Recipient)")
	}
	return nil
}

type kmsEncryptIn struct {
	KeyId               string
	Plaintext           []byte
	EncryptionContext   map[string]string
	EncryptionAlgorithm string
	DryRun              bool
}

func (s *Server) kmsAPIEncrypt(c *call, body []byte) (any, *apiError) {
	var in kmsEncryptIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.KeyId == "" {
		return nil, kmsRequired("keyId")
	}
	if in.Plaintext == nil {
		return nil, kmsRequired("plaintext")
	}
	if len(in.Plaintext) < 1 || len(in.Plaintext) > 4096 {
		return nil, kmsValidation("plaintext", "Member must have length between 1 and 4096")
	}
	if err := kmsCheckAlgorithm("encryptionAlgorithm", in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	k, err := s.kmsKeyForCrypto(c.p, c.region, in.KeyId, "kms:Encrypt", in.EncryptionContext, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, kmsDryRun()
	}
	return map[string]any{
		"CiphertextBlob":      kmsSeal(k, in.EncryptionContext, in.Plaintext),
		"KeyId":               k.arn,
		"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	}, nil
}

type kmsDecryptIn struct {
	CiphertextBlob      []byte
	EncryptionContext   map[string]string
	KeyId               *string
	EncryptionAlgorithm string
	DryRun              bool
	Recipient           *kmsRecipient
}

func kmsCheckBlob(field string, blob []byte) *apiError {
	if blob == nil {
		return kmsRequired(field)
	}
	if len(blob) < 1 || len(blob) > 6144 {
		return kmsValidation(field, "Member must have length between 1 and 6144")
	}
	return nil
}

func (s *Server) kmsAPIDecrypt(c *call, body []byte) (any, *apiError) {
	var in kmsDecryptIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckBlob("ciphertextBlob", in.CiphertextBlob); err != nil {
		return nil, err
	}
	if err := kmsCheckAlgorithm("encryptionAlgorithm", in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	if err := kmsNoRecipient(in.Recipient); err != nil {
		return nil, err
	}
	want := ""
	if in.KeyId != nil {
		want = *in.KeyId
	}
	k, pt, err := s.kmsOpenBlob(c.p, c.region, in.CiphertextBlob, in.EncryptionContext, "kms:Decrypt", want, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, kmsDryRun()
	}
	return map[string]any{"KeyId": k.arn, "Plaintext": pt, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

type kmsGenerateDataKeyIn struct {
	KeyId             string
	EncryptionContext map[string]string
	NumberOfBytes     *int32
	KeySpec           string
	DryRun            bool
	Recipient         *kmsRecipient
}

// kmsDataKeySize reads the data key length from KeySpec or NumberOfBytes (exactly one).
func kmsDataKeySize(in kmsGenerateDataKeyIn) (int, *apiError) {
	switch {
	case in.KeySpec != "" && in.NumberOfBytes != nil:
		return 0, errf(http.StatusBadRequest, "ValidationException", "Please specify either number of bytes or key spec.")
	case in.KeySpec == "AES_256":
		return 32, nil
	case in.KeySpec == "AES_128":
		return 16, nil
	case in.KeySpec != "":
		return 0, errf(http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]", in.KeySpec)
	case in.NumberOfBytes == nil:
		return 0, errf(http.StatusBadRequest, "ValidationException", "Please specify either number of bytes or key spec.")
	case *in.NumberOfBytes < 1 || *in.NumberOfBytes > 1024:
		return 0, kmsValidation("numberOfBytes", "Member must have value between 1 and 1024")
	}
	return int(*in.NumberOfBytes), nil
}

func (s *Server) kmsAPIGenerateDataKey(c *call, body []byte) (any, *apiError) {
	return s.kmsAPIDataKey(c, body, "GenerateDataKey", true)
}

func (s *Server) kmsAPIGenerateDataKeyWithoutPlaintext(c *call, body []byte) (any, *apiError) {
	return s.kmsAPIDataKey(c, body, "GenerateDataKeyWithoutPlaintext", false)
}

func (s *Server) kmsAPIDataKey(c *call, body []byte, op string, withPlaintext bool) (any, *apiError) {
	var in kmsGenerateDataKeyIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if in.KeyId == "" {
		return nil, kmsRequired("keyId")
	}
	n, err := kmsDataKeySize(in)
	if err != nil {
		return nil, err
	}
	if err := kmsNoRecipient(in.Recipient); err != nil {
		return nil, err
	}
	k, err := s.kmsKeyForCrypto(c.p, c.region, in.KeyId, "kms:"+op, in.EncryptionContext, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, kmsDryRun()
	}
	dataKey := make([]byte, n)
	_, _ = rand.Read(dataKey)
	out := map[string]any{"CiphertextBlob": kmsSeal(k, in.EncryptionContext, dataKey), "KeyId": k.arn}
	if withPlaintext {
		out["Plaintext"] = dataKey
	}
	return out, nil
}

type kmsReEncryptIn struct {
	CiphertextBlob                 []byte
	SourceEncryptionContext        map[string]string
	SourceKeyId                    *string
	DestinationKeyId               string
	DestinationEncryptionContext   map[string]string
	SourceEncryptionAlgorithm      string
	DestinationEncryptionAlgorithm string
	DryRun                         bool
}

func (s *Server) kmsAPIReEncrypt(c *call, body []byte) (any, *apiError) {
	var in kmsReEncryptIn
	if err := kmsDecode(body, &in); err != nil {
		return nil, err
	}
	if err := kmsCheckBlob("ciphertextBlob", in.CiphertextBlob); err != nil {
		return nil, err
	}
	if in.DestinationKeyId == "" {
		return nil, kmsRequired("destinationKeyId")
	}
	if err := kmsCheckAlgorithm("sourceEncryptionAlgorithm", in.SourceEncryptionAlgorithm); err != nil {
		return nil, err
	}
	if err := kmsCheckAlgorithm("destinationEncryptionAlgorithm", in.DestinationEncryptionAlgorithm); err != nil {
		return nil, err
	}
	want := ""
	if in.SourceKeyId != nil {
		want = *in.SourceKeyId
	}
	src, pt, err := s.kmsOpenBlob(c.p, c.region, in.CiphertextBlob, in.SourceEncryptionContext, "kms:ReEncryptFrom", want, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	dst, err := s.kmsKeyForCrypto(c.p, c.region, in.DestinationKeyId, "kms:ReEncryptTo", in.DestinationEncryptionContext, c.requestContext(), "")
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, kmsDryRun()
	}
	return map[string]any{
		"CiphertextBlob":                 kmsSeal(dst, in.DestinationEncryptionContext, pt),
		"SourceKeyId":                    src.arn,
		"KeyId":                          dst.arn,
		"SourceEncryptionAlgorithm":      "SYMMETRIC_DEFAULT",
		"DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	}, nil
}
