package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/localdeploy"
	"github.com/s3crr/s3crr/internal/names"
)

// With an organization configured, an account that joins it later needs only its member
// stack: the hub Lambda's sts:AssumeRole and the boundary's replica writes are scoped by
// aws:ResourceOrgID, which the simulator sets from its organization model as AWS
// documents (docs/aws-facts.md#F-IAM-ORG-CONDITION-KEYS). The hub's policy is the same
// before and after the account is added, a pair into the new account replicates, and an
// account outside the organization stays out of reach even with a member stack.
func TestNewOrganizationAccountNeedsNoHubRedeploy(t *testing.T) {
	const org, joiner, outsider = "o-a1b2c3d4e5", "333333333333", "444444444444"
	srv := localaws.New(localaws.Options{
		Accounts: []string{localaws.HubAccount, localaws.SourceAccount, localaws.DestinationAccount, joiner, outsider},
		Organizations: map[string]string{localaws.HubAccount: org, localaws.SourceAccount: org,
			localaws.DestinationAccount: org, joiner: org},
	})
	endpoint, stop := srv.Start()
	t.Cleanup(stop)
	ctx := context.Background()
	p := localdeploy.Params{Endpoint: endpoint, HubAccount: localaws.HubAccount, ExternalID: testExternalID, OrganizationID: org,
		Members: []string{localaws.SourceAccount, localaws.DestinationAccount}}
	if _, err := localdeploy.Deploy(ctx, p); err != nil {
		t.Fatal(err)
	}
	hubPolicy := func() string {
		out, err := awsclient.IAM(localdeploy.RootConfig(endpoint, localaws.HubAccount, "us-east-1")).GetRolePolicy(ctx,
			&iam.GetRolePolicyInput{RoleName: aws.String(names.ProvisionFunctionRoleName), PolicyName: aws.String(names.ProvisionFunctionName)})
		must(t, err)
		return aws.ToString(out.PolicyDocument)
	}
	before := hubPolicy()

	// The new accounts get their member stacks; the hub's policy does not change.
	p.Members = append(p.Members, joiner, outsider)
	if _, err := localdeploy.Deploy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if after := hubPolicy(); after != before {
		t.Fatalf("adding member accounts changed the hub's policy:\n%s\n→\n%s", before, after)
	}
	base, err := localdeploy.HubFunctionConfig(ctx, p)
	must(t, err)
	env := &localEnv{srv: srv, endpoint: endpoint, deploy: p, svc: New(Config{ExternalID: testExternalID}, AssumeRoleConnector{Base: base})}

	pair := func(dst string) []byte {
		return []byte(`{"pairId":"to-` + dst + `","source":{"account":"111111111111","region":"ap-south-1","bucket":"org-src-` + dst + `"},
			"destination":{"account":"` + dst + `","region":"us-east-1","bucket":"org-dst-` + dst + `"}}`)
	}
	reqJSON := pair(joiner)
	env.apply(t, reqJSON)
	req := mustParse(t, reqJSON)
	out := env.putAndWait(t, req, "docs/a.txt", "")
	if status, code, detail, _ := srv.ObjectReplication(req.Source.Bucket, "docs/a.txt", aws.ToString(out.VersionId)); status != "COMPLETED" {
		t.Errorf("replication into the organization's new account: %s %s %s, want COMPLETED", status, code, detail)
	}

	_, err = env.svc.Apply(ctx, pair(outsider))
	var ad *AccessDenied
	if !errors.As(err, &ad) || !strings.Contains(err.Error(), "sts:AssumeRole") {
		t.Errorf("a pair into %s, outside the organization = %v, want AccessDenied on sts:AssumeRole", outsider, err)
	}
}
