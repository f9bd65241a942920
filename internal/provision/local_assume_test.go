package provision

import (
	"context"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/localaws"
	"github.com/s3crr/s3crr/internal/names"
)

// TestWrongExternalIDIsAssumeRoleDenied: a hub whose ExternalId the member provisioner
// roles do not trust fails at its first call, through the real SDK credential chain, with
// AccessDenied for sts:AssumeRole and a fix about the trust; HeadBucket's 403 there is
// AssumeRole's, not a bucket taken by another account.
func TestWrongExternalIDIsAssumeRoleDenied(t *testing.T) {
	env := newLocalEnv(t, localaws.Options{})
	base := env.svc.connect.(AssumeRoleConnector).Base
	svc := New(Config{ExternalID: "not-" + testExternalID}, AssumeRoleConnector{Base: base})
	req := sampleRequest(t)
	env.srv.ResetCalls()
	for _, s := range []struct{ stage, side, account string }{
		{names.StagePreflight, "", "111111111111"},
		{names.StageBucket, SideDestination, "222222222222"},
		{names.StageKey, SideSource, "111111111111"},
	} {
		_, err := svc.Run(context.Background(), Event{Stage: s.stage, Side: s.side, Request: req})
		ad, ok := err.(*AccessDenied)
		if !ok {
			t.Fatalf("%s: err = %v (%T), want *AccessDenied", stageLabel(s.stage, s.side), err, err)
		}
		if ad.Action != "sts:AssumeRole" || ad.Account != s.account || !strings.Contains(ad.Message, "ExternalId") || strings.Contains(ad.Message, "taken by another account") {
			t.Errorf("%s: %+v", stageLabel(s.stage, s.side), ad)
		}
	}
	if n := env.srv.MutatingCalls(""); n != 0 {
		t.Errorf("%d mutating calls without a session", n)
	}
}
