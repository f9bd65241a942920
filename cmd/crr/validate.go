package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/s3crr/s3crr/internal/spec"
)

// validateCommand is `crr validate`: the same checks the provision Lambda's validate
// stage makes, run locally, so a typo costs no execution (whose name would then be
// taken for 90 days).
func validateCommand() *command {
	return &command{
		name:    "validate",
		summary: "check a pair request and show its defaults and derived names",
		run:     validate,
	}
}

func validate(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr validate")
	file := addRequestFlag(fs)
	asJSON := fs.Bool("json", false, "print the defaulted request as JSON (or, if invalid, the problems as JSON); the same as --output json")
	out := addOutputFlag(fs)
	usage := "crr validate -f pair.json [--output json]\n\n" +
		"Checks the request as the provision state machine will, and prints the request with\n" +
		"its defaults and the names derived from it. Exits 3 if the request is invalid."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	j, err := out.json()
	if err != nil {
		return err
	}
	*asJSON = *asJSON || j
	data, err := readRequestFile(env, *file)
	if err != nil {
		return err
	}
	req, err := requestOptions().Parse(data)
	var ve *spec.ValidationError
	switch {
	case errors.As(err, &ve) && *asJSON:
		if err := writeJSON(env.stdout, ve); err != nil {
			return err
		}
		return &invalidRequestError{problems: len(ve.Problems)}
	case err != nil:
		return reportInvalid(env, err)
	}
	if *asJSON {
		return writeJSON(env.stdout, req)
	}
	printRequestSummary(env.stdout, req)
	return nil
}

// printRequestSummary shows the defaulted request and every name derived from it, so the
// user sees what will be created before anything is.
func printRequestSummary(w io.Writer, r spec.Request) {
	legs := requestOptions().Legs(r)
	if len(legs) == 1 {
		fmt.Fprintf(w, "pair %s: valid\n", r.PairID)
		printPairLines(w, legs[0])
		fmt.Fprintf(w, "  %-17s %s (pair ID + request hash: the same request always gets this name)\n", "execution name", r.ExecutionName())
		printPairNotes(w, legs[0])
		return
	}
	what := "destinations"
	if r.TwoWay {
		what = "directions"
	}
	fmt.Fprintf(w, "request %s: valid, %d %s, each a pair of its own (crr status/verify/destroy take its pair ID)\n", r.PairID, len(legs), what)
	fmt.Fprintf(w, "  %-17s %s (one execution provisions every pair, one after the other)\n", "execution name", r.ExecutionName())
	for _, leg := range legs {
		fmt.Fprintf(w, "pair %s\n", leg.PairID)
		printPairLines(w, leg)
		printPairNotes(w, leg)
	}
}

// printPairLines shows one pair's (or leg's) endpoints, rule and role.
func printPairLines(w io.Writer, r spec.Request) {
	side := func(label string, e spec.Endpoint) {
		key := "key " + e.KMSKeyAlias + " (created if the alias does not exist)"
		if e.KMSKeyARN != "" {
			key = "key " + e.KMSKeyARN
		}
		fmt.Fprintf(w, "  %-17s s3://%s in %s/%s, %s\n", label, e.Bucket, e.Account, e.Region, key)
	}
	side("source", r.Source)
	side("destination", r.Destination)

	rule := r.Rule
	filter := "whole bucket"
	if rule.Prefix != "" {
		filter = fmt.Sprintf("prefix %q", rule.Prefix)
	}
	if len(rule.Tags) > 0 {
		keys := make([]string, 0, len(rule.Tags))
		for k := range rule.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		tags := make([]string, len(keys))
		for i, k := range keys {
			tags[i] = k + "=" + rule.Tags[k]
		}
		filter += ", tags " + strings.Join(tags, ",")
	}
	priority := int32(0)
	if rule.Priority != nil {
		priority = *rule.Priority
	}
	fmt.Fprintf(w, "  %-17s %s, priority %d, %s, storage class %s\n", "rule", r.RuleID(), priority, filter, rule.StorageClass)
	fmt.Fprintf(w, "  %-17s delete markers %s, RTC %s, metrics %s, owner override %s, bucket keys %s, replica modifications %s\n", "options",
		onOff(rule.DeleteMarkerReplication), onOff(rule.ReplicationTimeControl), onOff(r.MetricsEnabled()),
		onOff(rule.OwnerOverride), onOff(r.BucketKeyEnabled()), onOff(rule.ReplicaModifications))
	fmt.Fprintf(w, "  %-17s %s\n", "replication role", r.ReplicationRoleARN())
}

// printPairNotes adds what is unusual about a pair.
func printPairNotes(w io.Writer, r spec.Request) {
	if r.IsSameRegion() {
		fmt.Fprintf(w, "  %-17s same-region replication (allowSameRegion)\n", "note")
	}
	if !r.IsCrossAccount() {
		fmt.Fprintf(w, "  %-17s both buckets are in account %s\n", "note", r.Source.Account)
	}
}
