package provision

import (
	"fmt"
	"strings"

	"github.com/s3crr/s3crr/internal/spec"
)

// Environment variables the provision Lambda reads its deployment's scope from. HubStack
// sets them from the same settings that scope the member provisioner roles, so a request
// outside them is refused before any call instead of failing as AccessDenied halfway.
const (
	EnvBucketNamePrefix = "S3CRR_BUCKET_NAME_PREFIX"
	EnvKMSAliasPrefix   = "S3CRR_KMS_ALIAS_PREFIX"
)

// AnyBucket is the explicit BucketNamePrefix that admits every bucket name.
const AnyBucket = "*"

// scopeProblems lists, with their JSON paths and fixes, the request's buckets and aliases
// outside the deployment's prefixes. An empty prefix (not configured) or "*" admits all.
func (c Config) scopeProblems(r spec.Request) []string {
	var problems []string
	for _, side := range []struct {
		name string
		ep   spec.Endpoint
	}{{SideSource, r.Source}, {SideDestination, r.Destination}} {
		if p := c.BucketNamePrefix; p != "" && p != AnyBucket && !strings.HasPrefix(side.ep.Bucket, p) {
			problems = append(problems, fmt.Sprintf("%s.bucket: %q is outside this deployment's bucket name prefix %q, which the provisioner roles are limited to (fix: use a bucket named %s..., or redeploy with a wider bucketNamePrefix)",
				side.name, side.ep.Bucket, p, p))
		}
		if p := c.KMSAliasPrefix; p != "" && side.ep.KMSKeyAlias != "" && !strings.HasPrefix(side.ep.KMSKeyAlias, p) {
			problems = append(problems, fmt.Sprintf("%s.kmsKeyAlias: %q is outside this deployment's KMS alias prefix %q (fix: use an alias starting with %s, or name the key by kmsKeyArn)",
				side.name, side.ep.KMSKeyAlias, p, p))
		}
	}
	return problems
}
