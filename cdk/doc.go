// Package cdk is s3crr's CDK app: the hub stack (automation account) and one member
// stack per member account and region, with cdk-nag's AwsSolutions checks applied to
// all of them. cdk.json runs it as `go run ./cdk/app`, which builds the Lambdas
// (BuildLambdas) before every synth; scripts/synth.sh synthesizes offline.
//
// # Configuration (CDK context)
//
// cdk.json's "context" holds the defaults (placeholder accounts) and the example
// externalId; override any key with `-c key=value`. Synth fails with a message naming
// the key and the fix when a value is invalid, and it fails closed: the example
// externalId is refused, and bucketNamePrefix has no default.
//
//	hubAccount           12-digit automation account (required)
//	hubRegion            region of the hub stack (required)
//	members              member accounts and regions (required): a list of
//	                     {"account": "111111111111", "regions": ["ap-south-1", ...]}
//	                     in cdk.json, or "111111111111:ap-south-1,222222222222:us-east-1"
//	                     (or the JSON list as a string) with -c. An account's first
//	                     region is its primary region.
//	externalId           the deployment's sts:ExternalId (required). Plain context on
//	                     purpose: it is not a secret but a confused-deputy guard (it
//	                     stops another party's automation that was given our role ARN
//	                     from being tricked into assuming it), and it is visible in
//	                     the provisioner roles' trust policies and the Lambda's
//	                     environment anyway. Use a value unique to the deployment;
//	                     the example in cdk.json (ExampleExternalID) is refused.
//	alertEmail           optional e-mail subscription to the alert topic
//	bucketNamePrefix     limits the provisioner roles, the replication boundary and the
//	                     provision Lambda (S3CRR_BUCKET_NAME_PREFIX) to buckets whose
//	                     names start with it (required); "*" means every bucket of the
//	                     member accounts (synth warns)
//	kmsAliasPrefix       limits the key aliases the provisioner roles may create and
//	                     the keys they may change, and the provision Lambda
//	                     (S3CRR_KMS_ALIAS_PREFIX); default "alias/s3crr"
//	organizationId       optional AWS Organizations ID (o-...): the hub bus admits the
//	                     organization's forwarding rules, the provision Lambda may assume
//	                     the provisioner role in the organization's accounts, and the
//	                     boundary admits replica writes into their buckets
//	                     (aws:PrincipalOrgID / aws:ResourceOrgID) instead of listing
//	                     accounts, so a new member account needs no hub redeploy
//	memberOrganizationalUnits, organizationMemberRegions
//	                     optional: OU IDs and regions (the first is primary) the stack
//	                     s3crr-member-stackset rolls the member stack out to, through a
//	                     service-managed StackSet with automatic deployment
//	verifySchedule       EventBridge Scheduler expression for the nightly verification,
//	                     default "cron(0 3 * * ? *)"
//	verifyTimeZone       the schedule's IANA time zone, default "UTC"
//	provisionerRoleName  the member role the hub assumes, default names.ProvisionerRoleName
//
// # Stacks
//
// s3crr-hub: the provision Lambda (provided.al2023, arm64, from
// build/provision/bootstrap) with a role that may only assume the member provisioner
// roles with the ExternalId; the provision state machine, statemachine/provision.asl.json
// verbatim with DefinitionSubstitutions; the KMS-encrypted, TLS-only alert topic; the
// pairs table; the s3crr-events bus, whose policy admits only the member accounts'
// forwarding rules; the monitor Lambda, its de-duplication table, the two rules on that
// bus that feed it, its dead-letter queue and the alarm on it (monitor.go); the verify
// Lambda and state machine, the nightly EventBridge Scheduler schedule that starts it,
// and the dashboard of its metrics (verify.go).
//
// s3crr-member-<account>-<region>: in the account's primary region, the provisioner
// role and the replication permissions boundary (IAM is global, so one region holds
// them); in every configured region, the failure-event route. An EventBridge Pipe can
// target only a bus in its own account and region, so the route is: S3 event
// notification → SQS queue s3crr-replication-events → Pipe → the region's default bus
// (source names.ReplicationEventSource) → rule → hub bus, cross-account and cross-region. A
// second rule forwards the state changes of s3crr-* CloudWatch alarms, which arrive on
// the default bus. Undeliverable events end in s3crr-replication-events-dlq.
//
// # Deploying
//
// Bootstrap every account/region that gets a stack (cdk bootstrap aws://ACCOUNT/REGION),
// then deploy the member stacks with each member's credentials and the hub stack with
// the hub's. The stacks share no CloudFormation references, so the order does not
// matter: the provisioner trust names the hub roles by aws:PrincipalArn (valid before
// they exist), and the hub bus ARN is derived from the configuration.
package cdk
