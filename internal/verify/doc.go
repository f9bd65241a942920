// Package verify answers, for one replication pair, whether S3 replication would
// succeed with the configuration as it is now (sufficiency), and whether what s3crr
// provisioned is still in place (drift). Each problem is a [Finding]: its severity, the
// replication failure code S3 would record if it bit, the account and document at
// fault, the statement or setting, and the fix.
//
// It judges the documents as read back, not the ones s3crr would write: a hand-made
// policy with other Sids or a wider grant passes when it suffices, and an explicit Deny
// anywhere is found. The replication role's identity policies (and its permissions
// boundary) are judged by IAM's own policy simulator (SimulatePrincipalPolicy); bucket
// and key policies by a small evaluator here, because the simulator evaluates neither a
// KMS key policy nor a resource policy for a role caller.
//
// The package is split so that every caller can use it: [Read] gathers a [Snapshot]
// through read-only member sessions (the s3crr-auditor role), and [Check] is a pure
// function of the snapshot, so `crr doctor`, the verify Lambda and tests share it.
package verify
