package policy

import "github.com/s3crr/s3crr/internal/names"

// This file builds the hub account's execution-role policies. CloudWatch Logs
// and X-Ray permissions come from the CDK constructs (the Lambda and state
// machine constructs add them) and are not repeated here.

// HubParams configures the hub roles. Every value is a plain string so that
// the CDK app can pass tokens.
type HubParams struct {
	// Region is the hub region; it names SNS in the alert key's ViaService.
	Region string
	// HubAccount is the hub account, which the verify state machine's ARN names.
	HubAccount string
	// MemberAccounts are the accounts whose provisioner role the hub may
	// assume, when OrganizationID is not set.
	MemberAccounts []string
	// OrganizationID, when set, lets the hub assume the provisioner role of
	// any account of that AWS organization (aws:ResourceOrgID) instead of
	// listing MemberAccounts, so a new member account needs no hub redeploy.
	OrganizationID string
	// ProvisionerRoleName defaults to [names.ProvisionerRoleName].
	ProvisionerRoleName string
	// ProvisionerRolePath is the provisioner role's IAM path; default "/".
	// It must not be names.RolePath: the provisioner may change every
	// role under that path, and must not be able to change itself.
	ProvisionerRolePath string
	// ExternalID is the deployment's shared ExternalId.
	ExternalID string
	// TopicARN is the alert topic.
	TopicARN string
	// TopicKeyARN is the KMS key that encrypts the alert topic. When set,
	// publishers get the key use SNS makes on their behalf.
	TopicKeyARN string
	// TableARN is the DynamoDB table of registered pairs.
	TableARN string
	// FunctionARNs are the Lambda functions a state machine invokes.
	FunctionARNs []string
	// DedupTableARN is the replication monitor's de-duplication table
	// (ReplicationMonitorPolicy's second argument, carried here for the stacks).
	DedupTableARN string
	// LeaseTableARN is the provision Lambda's document lease table
	// (names.LeaseTableName).
	LeaseTableARN string
}

// Hub purposes (fixed Sids: SidPrefix + purpose).
const (
	PurposeAssumeProvisioner = "AssumeProvisioner"
	PurposePublishAlerts     = "PublishAlerts"
	PurposeAlertKey          = "AlertKey"
	PurposePairsRegister     = "PairsRegister"
	// PurposePairsUnregister: the destroy state machine reads a pair's registration (the
	// request it was provisioned with) and deletes it at the end.
	PurposePairsUnregister = "PairsUnregister"
	// PurposePairsRedrive: the redrive state machine reads a pair's registration and
	// records the re-drive's result on it.
	PurposePairsRedrive    = "PairsRedrive"
	PurposeInvokeFunctions = "InvokeFunctions"
	// PurposeDocumentLeases: the provision Lambda takes and releases the lease of each
	// shared document it merges into (internal/lease).
	PurposeDocumentLeases = "DocumentLeases"
	// PurposePairsRead: the provision Lambda's teardown stages read the registered pairs
	// to tell whether another pair still uses a destination's shared grant.
	PurposePairsRead = "PairsRead"
)

// ProvisionerRoleARNs returns the provisioner role's ARN in every member
// account, the only roles a hub Lambda may assume.
func (h HubParams) ProvisionerRoleARNs() []string {
	name := h.ProvisionerRoleName
	if name == "" {
		name = names.ProvisionerRoleName
	}
	out := make([]string, 0, len(h.MemberAccounts))
	for _, a := range h.MemberAccounts {
		out = append(out, RoleARN(a, h.ProvisionerRolePath, name))
	}
	return out
}

func (h HubParams) assumeProvisioner() Statement {
	st := Statement{
		Sid:       SidPrefix + PurposeAssumeProvisioner,
		Effect:    Allow,
		Action:    []string{"sts:AssumeRole"},
		Resource:  h.ProvisionerRoleARNs(),
		Condition: map[string]map[string][]string{StringEquals: {KeyExternalID: {h.ExternalID}}},
	}
	if h.OrganizationID != "" {
		// The role's name in any account, but only accounts of the organization
		// (docs/aws-facts.md#F-IAM-ORG-CONDITION-KEYS); the member's trust still
		// requires this role and the ExternalId.
		name := h.ProvisionerRoleName
		if name == "" {
			name = names.ProvisionerRoleName
		}
		st.Resource = []string{RoleARN("*", h.ProvisionerRolePath, name)}
		st.Condition[StringEquals][KeyResourceOrgID] = []string{h.OrganizationID}
	}
	return st
}

// publishAlerts grants sns:Publish on the topic and, for an encrypted topic,
// the key use SNS makes with the publisher's credentials: GenerateDataKey to
// encrypt the message and Decrypt to read the data key back. Both are
// limited to SNS in the hub region and to the topic's encryption context.
func (h HubParams) publishAlerts() []Statement {
	st := []Statement{{
		Sid:      SidPrefix + PurposePublishAlerts,
		Effect:   Allow,
		Action:   []string{"sns:Publish"},
		Resource: []string{h.TopicARN},
	}}
	if h.TopicKeyARN != "" {
		st = append(st, Statement{
			Sid:      SidPrefix + PurposeAlertKey,
			Effect:   Allow,
			Action:   []string{ActKMSGenerateDataKey, ActKMSDecrypt},
			Resource: []string{h.TopicKeyARN},
			Condition: map[string]map[string][]string{StringEquals: {
				KeyViaService:                            {"sns." + h.Region + ".amazonaws.com"},
				"kms:EncryptionContext:aws:sns:topicArn": {h.TopicARN},
			}},
		})
	}
	return st
}

// stateMachinePolicy is what every pair state machine (provision, destroy, redrive) may
// do: invoke the given functions, publish its failure alert, and the table actions its
// ASL's DynamoDB tasks make on the pairs table, under the statement purpose given.
func (h HubParams) stateMachinePolicy(tablePurpose string, tableActions ...string) Document {
	st := []Statement{{
		Sid:      SidPrefix + PurposeInvokeFunctions,
		Effect:   Allow,
		Action:   []string{"lambda:InvokeFunction"},
		Resource: cloneStrings(h.FunctionARNs),
	}}
	st = append(st, h.publishAlerts()...)
	st = append(st, Statement{
		Sid:      SidPrefix + tablePurpose,
		Effect:   Allow,
		Action:   tableActions,
		Resource: []string{h.TableARN},
	})
	return Document{Version: Version, Statement: st}
}

// ProvisionFunctionPolicy is the provision Lambda's policy: it may assume the
// member provisioner roles, with the ExternalId (everything it does in a member
// account happens as the provisioner), and take and release document leases:
// dynamodb:PutItem (a conditional put takes a lease) and dynamodb:DeleteItem (a
// conditional delete releases it) on the lease table, for keys under
// names.LeaseKeyPrefixes only. No read: the conditional put returns the holder
// when it fails; no UpdateItem: a lease is renewed by putting it again.
//
// With the pairs table (TableARN), it may also read it: teardown consults the
// registry to tell whether another pair still uses a shared destination grant.
// dynamodb:Scan, not Query: the table is keyed by pair ID and has no index by
// destination; the registrations it reads are requests and ARNs, no secret, and the
// Lambda may already read every member account through the provisioner roles.
func ProvisionFunctionPolicy(h HubParams) Document {
	prefixes := make([]string, 0, len(names.LeaseKeyPrefixes))
	for _, p := range names.LeaseKeyPrefixes {
		prefixes = append(prefixes, p+"*")
	}
	st := []Statement{h.assumeProvisioner(), {
		Sid:       SidPrefix + PurposeDocumentLeases,
		Effect:    Allow,
		Action:    []string{"dynamodb:PutItem", "dynamodb:DeleteItem"},
		Resource:  []string{h.LeaseTableARN},
		Condition: map[string]map[string][]string{forAllValuesLike: {KeyDynamoDBLeadingKeys: prefixes}},
	}}
	if h.TableARN != "" {
		st = append(st, Statement{
			Sid:      SidPrefix + PurposePairsRead,
			Effect:   Allow,
			Action:   []string{"dynamodb:Scan"},
			Resource: []string{h.TableARN},
		})
	}
	return Document{Version: Version, Statement: st}
}

// StateMachinePolicy is the state machines' role policy: invoke the given
// functions, publish the alert of a failed run (direct SNS integration) and
// register the pair (the ASL's dynamodb:putItem task; a test holds these
// actions to the ASL's integrations).
func StateMachinePolicy(h HubParams) Document {
	return h.stateMachinePolicy(PurposePairsRegister, "dynamodb:PutItem")
}

// DestroyStateMachinePolicy is the destroy state machine's role policy
// (statemachine/destroy.asl.json): invoke the provision Lambda's destroy stages, alert on
// failure, and read then delete the pair's registration. No PutItem: a teardown never
// registers anything.
func DestroyStateMachinePolicy(h HubParams) Document {
	return h.stateMachinePolicy(PurposePairsUnregister, "dynamodb:GetItem", "dynamodb:DeleteItem")
}

// RedriveStateMachinePolicy is the redrive state machine's role policy: invoke the
// given functions (the Batch Replication stages), publish its alerts, and read the
// pair's registration and record the re-drive's result on it (the ASL's
// dynamodb:getItem and dynamodb:updateItem tasks).
func RedriveStateMachinePolicy(h HubParams) Document {
	return h.stateMachinePolicy(PurposePairsRedrive, "dynamodb:GetItem", "dynamodb:UpdateItem")
}
