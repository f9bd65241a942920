package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/verify"
)

// doctorCommand is `crr doctor`.
func doctorCommand() *command {
	return &command{
		name:    "doctor",
		summary: "check, read-only, whether a pair (s3crr's or hand-made) would replicate, and what drifted",
		run:     doctor,
	}
}

// externalIDEnv is where doctor finds the deployment's ExternalId when --external-id is
// not given, so a shell with the deployment's settings sourced needs no flag.
const externalIDEnv = "S3CRR_EXTERNAL_ID"

func doctor(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr doctor")
	file := addRequestFlag(fs)
	output := addOutputFlag(fs)
	externalID := fs.String("external-id", os.Getenv(externalIDEnv), "the deployment's `ExternalId` (cdk.json externalId); default $"+externalIDEnv)
	auditor := fs.String("auditor-role", names.AuditorRoleName, "the member auditor role's `name` (MemberStack creates "+names.AuditorRoleName+")")
	canary := fs.Bool("canary", false, "also put a canary object and wait until it replicates (through the verify Lambda; writes and deletes one object)")
	function := fs.String("function", names.VerifyFunctionName, "the verify Lambda's `name` or ARN, for --canary")
	aw := addAWSFlags(fs)
	usage := "crr doctor -f pair.json [--canary] [--output text|json] [--external-id ID] [--region R] [--profile P]\n\n" +
		"Reads both member accounts through their " + names.AuditorRoleName + " roles, with the hub's\n" +
		"credentials and the deployment's ExternalId, and reports every finding with its fix:\n" +
		"whether S3 replication would succeed with the buckets, keys, role, policies and rule as\n" +
		"they are now (any pair, including one set up by hand: name existing buckets and\n" +
		"kmsKeyArns in the request; the role is the one the source's replication configuration\n" +
		"names), and, for a pair s3crr provisioned, what drifted from what it generated.\n" +
		"Changes nothing, except --canary: one object under the rule's prefix, then\n" +
		"<prefix>" + names.CanaryDir + ", written, checked and deleted by the verify Lambda.\n" +
		"Exits 0 when replication would work (warnings allowed), 1 when a finding would make it\n" +
		"fail, 2 on a usage error, 3 when the request is invalid."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	asJSON, err := output.json()
	if err != nil {
		return err
	}
	if *externalID == "" {
		return usagef("--external-id is required (or set %s): the member auditor roles accept the hub only with it", externalIDEnv)
	}
	req, err := loadRequest(env, *file)
	if err != nil {
		return err
	}
	cfg, err := aw.load(ctx)
	if err != nil {
		return err
	}
	// A fan-out or two-way request is checked pair by pair (its legs), each as a pair of
	// its own.
	type legResult struct {
		verify.Report
		Canary *verify.CanaryResult `json:"canary,omitempty"`
	}
	legs := requestOptions().Legs(req)
	var results []legResult
	errs, failed := 0, false
	for _, leg := range legs {
		rep, err := verify.Run(ctx, leg, verify.AuditorConnector{Base: cfg, ExternalID: *externalID, RoleName: *auditor})
		if err != nil {
			return explain(err, "read the pair", "", map[string]string{
				"AccessDenied": "the hub credentials may not assume " + *auditor + " in a member account: deploy the MemberStack there, check --external-id, and allow sts:AssumeRole on it in the hub account",
			})
		}
		var can *verify.CanaryResult
		if *canary {
			res, err := runCanary(ctx, awsclient.Lambda(cfg), *function, leg)
			if err != nil {
				return fmt.Errorf("canary: %w", err)
			}
			can = &res
		}
		results = append(results, legResult{rep, can})
		if can != nil && can.Status != verify.CanaryCompleted {
			errs, failed = errs+countSeverity(rep, verify.SeverityError)+len(can.Findings), true
		} else if rep.Fails() {
			errs, failed = errs+countSeverity(rep, verify.SeverityError), true
		}
	}
	switch {
	case asJSON && len(results) == 1:
		if err := writeJSON(env.stdout, results[0]); err != nil {
			return err
		}
	case asJSON:
		if err := writeJSON(env.stdout, struct {
			PairID string      `json:"pairId"`
			Legs   []legResult `json:"legs"`
		}{req.PairID, results}); err != nil {
			return err
		}
	default:
		for i, r := range results {
			if len(results) > 1 {
				if i > 0 {
					fmt.Fprintln(env.stdout)
				}
				fmt.Fprintf(env.stdout, "pair %s\n", legs[i].PairID)
			}
			printReport(env.stdout, r.Report)
			if r.Canary != nil {
				printCanary(env.stdout, *r.Canary)
			}
		}
	}
	if failed {
		return &findingsError{errors: errs}
	}
	return nil
}

// printReport prints every finding with its fix, errors first.
func printReport(w io.Writer, rep verify.Report) {
	kind := "set up by hand (sufficiency checks only)"
	if rep.Managed {
		kind = "provisioned by s3crr (sufficiency and drift checks)"
	}
	fmt.Fprintf(w, "pair %s, %s\nreplication role: %s\n\n", rep.PairID, kind, orDash(rep.RoleARN))
	for _, f := range rep.Findings {
		code := ""
		if f.Code != "" {
			code = " → " + f.Code
		}
		fmt.Fprintf(w, "%-7s %s%s\n", f.Severity, f.Check, code)
		fmt.Fprintf(w, "        account %s, %s", f.Account, f.Document)
		if f.Statement != "" {
			fmt.Fprintf(w, " (%s)", f.Statement)
		}
		fmt.Fprintf(w, "\n        %s\n        fix: %s\n\n", f.Message, f.Fix)
	}
	errs, warns := countSeverity(rep, verify.SeverityError), countSeverity(rep, verify.SeverityWarning)
	switch {
	case errs > 0:
		fmt.Fprintf(w, "replication would FAIL: %d error(s), %d warning(s)\n", errs, warns)
		// Objects written meanwhile stay FAILED after the repair: S3 never retries them.
		fmt.Fprintf(w, "after the repair, re-drive the objects that failed meanwhile: crr redrive %s --wait\n", rep.PairID)
	case warns > 0:
		fmt.Fprintf(w, "replication would work; %d warning(s)\n", warns)
	default:
		fmt.Fprintln(w, "replication would work; no findings")
	}
}

func countSeverity(rep verify.Report, s verify.Severity) int {
	n := 0
	for _, f := range rep.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// findingsError ends doctor when a finding would make replication fail; the findings
// have been printed.
type findingsError struct{ errors int }

func (e *findingsError) Error() string {
	return fmt.Sprintf("replication would fail: %d error finding(s) (above)", e.errors)
}

func (e *findingsError) exitCode() int { return exitFailure }
