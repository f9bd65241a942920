package localaws

import (
	"net/http"
	"strings"
)

// The KMS API operations, JSON 1.1 (TrentService). Each handler runs with s.mu held and
// returns the response body or a KMS-coded error; serveKMS writes it. This file holds the
// dispatch table and what several operations share; the handlers live by concern in
// kms_api_keys.go (lifecycle, rotation), kms_api_policy.go (key policies, tags),
// kms_api_aliases.go and kms_api_crypto.go.

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
