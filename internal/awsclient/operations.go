package awsclient

import "strings"

// readVerbs are the verbs with which AWS names its read-only operations, in every service.
var readVerbs = []string{"Get", "List", "Head", "Describe"}

// readOnlyOps are the operations of a service that change no state although their name
// does not start with a read verb: KMS's cryptographic operations use a key without
// changing it, IAM's simulations evaluate policies without storing anything, and S3 Select
// only reads an object.
var readOnlyOps = map[string]map[string]bool{
	"kms": {
		"Encrypt": true, "Decrypt": true, "ReEncrypt": true,
		"GenerateDataKey": true, "GenerateDataKeyWithoutPlaintext": true,
		"GenerateDataKeyPair": true, "GenerateDataKeyPairWithoutPlaintext": true,
		"GenerateRandom": true, "GenerateMac": true, "VerifyMac": true,
		"Sign": true, "Verify": true, "DeriveSharedSecret": true,
	},
	"iam": {"SimulatePrincipalPolicy": true, "SimulateCustomPolicy": true},
	"s3":  {"SelectObjectContent": true},
}

// IsMutating reports whether an operation of a service changes state in the account:
// creates, puts, updates, tags, attaches, deletes, schedules... service is the
// lowercase IAM service prefix ("s3", "kms", "iam", "sts", "cloudwatch") and operation
// the API name ("PutBucketReplication").
//
// It is a deny-list of reads, so an operation nobody thought about counts as a write:
// the tests that prove a second provisioning run changes nothing (against the fakes and
// the simulator alike) then fail loudly instead of passing a new write unseen. STS issues
// credentials and stores nothing, so none of its operations mutate.
func IsMutating(service, operation string) bool {
	if service == "sts" || readOnlyOps[service][operation] {
		return false
	}
	for _, verb := range readVerbs {
		if strings.HasPrefix(operation, verb) {
			return false
		}
	}
	return true
}
