package localaws

import (
	"crypto/rand"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// KMS API: the key lifecycle (create, describe, list, enable and disable, scheduled
// deletion) and automatic rotation. Split from kms_api.go by concern; the dispatch table
// stays there.

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
	ctx["kms:BypassPolicyLockoutSafetyCheck"] = []string{strconv.FormatBool(in.BypassPolicyLockoutSafetyCheck)}
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
