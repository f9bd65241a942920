package provision

import (
	"fmt"
	"strings"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// specOptions are the deployment settings the request is read under: its default aliases
// are built under the deployment's alias prefix, and a named alias outside it is refused
// by spec's validation, so the Lambda, `crr validate` and the provisioner's grants agree.
func (c Config) specOptions() spec.Options {
	return spec.Options{KMSAliasPrefix: c.KMSAliasPrefix}
}

// scopeProblems lists, with their JSON paths and fixes, the request's buckets outside the
// deployment's bucket name prefix. An empty prefix (not configured) or names.AnyBucket
// admits all. Aliases are checked by spec under specOptions.
func (c Config) scopeProblems(r spec.Request) []string {
	var problems []string
	for _, side := range []struct {
		name string
		ep   spec.Endpoint
	}{{SideSource, r.Source}, {SideDestination, r.Destination}} {
		if p := c.BucketNamePrefix; p != "" && p != names.AnyBucket && !strings.HasPrefix(side.ep.Bucket, p) {
			problems = append(problems, fmt.Sprintf("%s.bucket: %q is outside this deployment's bucket name prefix %q, which the provisioner roles are limited to (fix: use a bucket named %s..., or redeploy with a wider bucketNamePrefix)",
				side.name, side.ep.Bucket, p, p))
		}
	}
	return problems
}

// defaultAlias is the alias s3crr gives a side's key when the request names none.
func (c Config) defaultAlias(side, pairID string) string {
	if side == SideDestination {
		return names.DestinationAlias(c.KMSAliasPrefix, pairID)
	}
	return names.SourceAlias(c.KMSAliasPrefix, pairID)
}
