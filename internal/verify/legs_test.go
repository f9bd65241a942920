package verify

import (
	"testing"
)

// The legs of a fan-out and of a two-way pair are pairs of their own: each is managed
// and clean, although its role policy, trust policy and (two-way) key policies also hold
// the other legs' statements.
func TestLegsAreEachCleanPairs(t *testing.T) {
	for _, tt := range []struct{ name, request string }{
		{"fan-out", `{"pairId": "fan", "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "fan-src"},
		  "destinations": [{"account": "222222222222", "region": "us-east-1", "bucket": "fan-a"},
		                   {"account": "222222222222", "region": "eu-west-1", "bucket": "fan-b"}],
		  "rule": {"deleteMarkerReplication": true}}`},
		{"two-way", `{"pairId": "mirror", "source": {"account": "111111111111", "region": "ap-south-1", "bucket": "mirror-a"},
		  "destination": {"account": "222222222222", "region": "us-east-1", "bucket": "mirror-b"}, "twoWay": true}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newLocalEnv(t)
			env.provision(t, []byte(tt.request))
			req := mustParse(t, []byte(tt.request))
			for _, leg := range req.Legs() {
				rep := env.doctor(t, leg)
				if !rep.Managed {
					t.Errorf("leg %s is not recognised as s3crr's", leg.PairID)
				}
				wantClean(t, rep)
			}
		})
	}
}
