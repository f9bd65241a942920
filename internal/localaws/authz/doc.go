// Package authz decides AWS requests against IAM policy documents for the
// member-account simulator, the way AWS evaluates them for the subset s3crr
// exercises. It is pure: no HTTP, no SDK, no state. The simulator's S3, KMS,
// IAM and STS front ends gather the caller, the policies and the request
// context, and call [Authorize].
//
// The package deliberately shares no code with internal/policy: the simulator
// judges the documents s3crr writes, so a permission that is wrong in the
// builder must not be "right" here for the same reason.
//
// # Evaluation
//
// [Authorize] follows AWS's policy evaluation logic:
//
//  1. Any applicable explicit Deny in an identity policy, the permissions
//     boundary or the resource policy denies (Decision.ExplicitDeny).
//  2. The identity side allows when the caller is an account's root user (root
//     has every identity permission of its account and no policies), or when
//     some identity policy allows and the boundary (if any) allows too.
//  3. A resource policy grant is "direct" when its Principal is "*",
//     {"AWS":"*"}, the caller's exact ARN (a role session matches its role
//     ARN as written, case-sensitively) or, for a service caller, its service
//     principal; it is an "account" grant when the Principal is the caller's
//     account ID or "arn:aws:iam::ACCOUNT:root", which delegates the decision
//     to the account's IAM policies. A direct grant to a role that has a
//     permissions boundary counts only if the boundary allows the action, as
//     AWS limits resource-policy grants to a role ARN by the role's boundary.
//  4. ModeStandard (S3, IAM, STS): in the resource's account, identity allow
//     OR direct resource grant. Across accounts, identity allow AND a resource
//     grant of either strength; no resource policy means denied.
//  5. ModeKMS: the key policy is authoritative. In the key's account, a direct
//     grant OR (an account grant AND identity allow), so a key policy without
//     the account statement makes IAM policies irrelevant, and even the root
//     user needs the account statement. Across accounts, a grant of either
//     strength AND identity allow.
//  6. ModeTrust (sts:AssumeRole against a role's trust policy, passed as the
//     Resource policy): the same formula as ModeKMS, because a role can be
//     assumed only if its trust policy names the caller or its account.
//  7. Service callers (Principal.Service) have no identity policies: they
//     are allowed only by a resource policy statement naming their service
//     principal (or "*"), in every mode.
//
// A statement applies when its Action (or NotAction) matches the action with
// `*` and `?` wildcards, case-insensitively; its Resource (or NotResource)
// matches the resource ARN with wildcards, case-sensitively (a statement
// without either, as in trust policies, matches any resource); its Principal
// matches (resource policies only: Principal is ignored in identity and
// boundary policies); and every condition holds.
//
// # Conditions
//
// Operators: StringEquals, StringNotEquals, StringEqualsIgnoreCase,
// StringNotEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals, ArnLike,
// ArnNotEquals, ArnNotLike, Bool, NumericEquals, NumericNotEquals,
// NumericLessThan, NumericLessThanEquals, NumericGreaterThan,
// NumericGreaterThanEquals, each optionally with the IfExists suffix and the
// ForAnyValue: or ForAllValues: prefix, and Null. Keys in one operator block
// are ANDed, values of one key are ORed. A key missing from the request
// context makes a positive operator false and a negated one (StringNotEquals,
// ArnNotLike...) true; IfExists makes a missing key true; ForAllValues is true
// and ForAnyValue false for a missing key. Bool compares "true"/"false"
// case-insensitively; a value that does not parse as a number makes a numeric
// comparison false; ARN operators compare the six ARN parts, with wildcards
// inside each part. Context keys are matched case-insensitively.
//
// An operator or condition key outside this subset ([KnownConditionOperator],
// [KnownConditionKey]), or a policy variable ("${...}") in a condition value,
// makes any statement it appears in deny when that statement otherwise
// applies — for Allow and Deny statements alike — with a reason naming it. A
// policy the simulator cannot evaluate must never grant silently, nor skip a
// Deny silently.
//
// [Authorize] fills aws:PrincipalArn, aws:PrincipalAccount and
// aws:PrincipalOrgID (AWS callers, the last only for an account in an
// organization), aws:PrincipalServiceName (service callers),
// aws:ResourceOrgID (a resource whose account is in an organization) and, in
// ModeKMS, kms:CallerAccount when the caller did not supply them; every other
// key comes from the caller.
package authz
