package main

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/spec"
)

// A request with destinations registers one pair per leg (<pairId>-1, <pairId>-2, ...),
// and a two-way request its forward direction as <pairId> and its back direction as
// <pairId>-reverse: `crr status <pairId>` looks those up too, so the request's ID shows
// every pair it made.

// legCandidates are the pair IDs the legs of request pairID may be registered under:
// the back direction of a two-way pair when pairID itself is registered, the numbered
// legs of a fan-out when it is not (a leg destroyed alone leaves a gap, so every number
// up to spec.MaxDestinations is asked for).
func legCandidates(pairID string, registered bool) []string {
	if registered {
		return []string{names.ReverseLegID(pairID)}
	}
	out := make([]string, 0, spec.MaxDestinations)
	for i := 1; i <= spec.MaxDestinations; i++ {
		out = append(out, names.LegID(pairID, i))
	}
	return out
}

// findLegs reads the registrations of the legs of request pairID, one GetItem each (the
// permission status already needs), in leg order.
func findLegs(ctx context.Context, c pairTableAPI, table, pairID string, registered bool) ([]pairSummary, error) {
	var legs []pairSummary
	for _, id := range legCandidates(pairID, registered) {
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(table),
			Key:       map[string]ddbtypes.AttributeValue{names.PairsTableKey: &ddbtypes.AttributeValueMemberS{Value: id}},
		})
		if err != nil {
			return nil, explain(err, "dynamodb:GetItem", table, nil)
		}
		if len(out.Item) > 0 {
			legs = append(legs, summarize(out.Item))
		}
	}
	return legs, nil
}

// printLegs lists the legs found, each with its registration and last verification.
func printLegs(w io.Writer, pairID string, legs []pairSummary, registered bool) {
	if len(legs) == 0 {
		if !registered {
			fmt.Fprintf(w, "pair %s: not registered (no provision execution has succeeded for it; a request with destinations registers its pairs as %s, %s, ..., a two-way one as %s and %s)\n",
				pairID, names.LegID(pairID, 1), names.LegID(pairID, 2), pairID, names.ReverseLegID(pairID))
		}
		return
	}
	what := "the legs of request " + pairID + " (one registered pair each; crr status <leg> shows one)"
	if registered {
		what = "two-way pair " + pairID + ": its other direction (crr status <leg> shows it)"
	} else {
		fmt.Fprintf(w, "request %s: %d of its legs registered\n", pairID, len(legs))
	}
	fmt.Fprintf(w, "\n%s:\n", what)
	printPairSummaries(w, legs, true)
}
