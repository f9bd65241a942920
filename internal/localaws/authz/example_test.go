package authz_test

import (
	"fmt"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// The replication role of account 111111111111 encrypts a replica with a key
// of account 222222222222: the key policy and the role's own policy must both
// allow it.
func ExampleAuthorize() {
	role := "arn:aws:iam::111111111111:role/replication"
	key := "arn:aws:kms:us-east-1:222222222222:key/2222"
	keyPolicy, _ := authz.Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"EnableIAM","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:*","Resource":"*"},
		{"Sid":"Replication","Effect":"Allow","Principal":{"AWS":"` + role + `"},"Action":"kms:Encrypt","Resource":"*",
		 "Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]}`))
	rolePolicy, _ := authz.Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"kms:Encrypt","Resource":"` + key + `"}]}`))

	in := authz.Input{
		Request: authz.Request{
			Principal: authz.Principal{Account: "111111111111", ARN: role},
			Action:    "kms:Encrypt",
			Resource:  key,
			Context:   map[string][]string{"kms:ViaService": {"s3.us-east-1.amazonaws.com"}},
		},
		Mode:            authz.ModeKMS,
		Identity:        []*authz.Policy{rolePolicy},
		Resource:        keyPolicy,
		ResourceAccount: "222222222222",
	}
	fmt.Println(authz.Authorize(in).Allowed)

	in.Identity = nil
	fmt.Println(authz.Authorize(in).Reason)
	// Output:
	// true
	// cross-account: no identity-based policy allows kms:Encrypt on arn:aws:kms:us-east-1:222222222222:key/2222
}
