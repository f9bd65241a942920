package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3crr/s3crr/internal/awsclient"
	"github.com/s3crr/s3crr/internal/names"
	"github.com/s3crr/s3crr/internal/verifyjob"
)

// pairScanAPI is the DynamoDB call `crr status --all` makes.
type pairScanAPI interface {
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ pairScanAPI = (*dynamodb.Client)(nil)

// maxStatusPageSize is DynamoDB's own bound on a page: a Scan returns at most 1 MB, and
// a pair's summary attributes are far under 1 KB, so 1,000 pairs fit one response.
const maxStatusPageSize = 1000

// pairSummaryAttributes are the attributes one row of `crr status --all` shows: the
// registration the provision state machine writes and the last verification's.
var pairSummaryAttributes = []string{
	names.PairsTableKey, "registeredAt", "executionArn", "source", "destination",
	verifyjob.AttrVerifyStatus, verifyjob.AttrLastVerified, verifyjob.AttrFindingCount, verifyjob.AttrCanaryLatency,
}

// isStatusAll reports whether the arguments ask for `crr status --all`.
func isStatusAll(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return a == "--all" || a == "-all" || a == "--all=true" || a == "-all=true" })
}

// pairSummary is one registered pair in `crr status --all`.
type pairSummary struct {
	PairID       string `json:"pairId"`
	RegisteredAt string `json:"registeredAt,omitempty"`
	// ProvisionedBy is the execution that last provisioned it successfully (a pair is
	// registered only by a succeeded execution).
	ProvisionedBy string `json:"provisionedBy,omitempty"`
	Source        string `json:"source,omitempty"`
	Destination   string `json:"destination,omitempty"`
	// VerifyStatus is the last verification's outcome ("passed", "failed"), "" if never.
	VerifyStatus   string   `json:"verifyStatus,omitempty"`
	LastVerified   string   `json:"lastVerified,omitempty"`
	FindingCount   *int     `json:"findingCount,omitempty"`
	CanaryLatencyS *float64 `json:"canaryLatencySeconds,omitempty"`
}

// statusAllDoc is `crr status --all --output json`.
type statusAllDoc struct {
	Table string        `json:"table"`
	Pairs []pairSummary `json:"pairs"`
	// NextToken, when set, is --starting-token for the next page.
	NextToken string `json:"nextToken,omitempty"`
}

// statusAll is `crr status --all`: every registered pair with its last provision and
// verification, a page at a time (a Scan with a Limit, never the whole table at once).
func statusAll(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("crr status --all")
	fs.Bool("all", true, "list every registered pair")
	table := fs.String("table", names.PairsTableName, "the pairs DynamoDB `table`")
	pageSize := fs.Int("page-size", 50, "how many `pairs` a page lists (at most 1000)")
	startToken := fs.String("starting-token", "", "continue after the page that printed this `token`")
	allPages := fs.Bool("all-pages", false, "list every page, one after the other")
	aw := addAWSFlags(fs)
	out := addOutputFlag(fs)
	usage := "crr status --all [--page-size N] [--starting-token TOKEN | --all-pages] [--table NAME] [--region R] [--profile P] [--endpoint-url URL] [--output json]\n\n" +
		"Lists the registered pairs, a page at a time, each with its registration (the\n" +
		"execution that provisioned it) and its last verification. A page that is not the\n" +
		"last ends with the --starting-token of the next one. Needs dynamodb:Scan on the table."
	if done, err := parseFlags(fs, env, usage, args); done || err != nil {
		return err
	}
	asJSON, err := out.json()
	if err != nil {
		return err
	}
	if *pageSize < 1 || *pageSize > maxStatusPageSize {
		return usagef("--page-size must be between 1 and %d", maxStatusPageSize)
	}
	if *allPages && *startToken != "" {
		return usagef("--all-pages lists from the first page: leave out --starting-token")
	}
	start, err := decodeStatusToken(*startToken)
	if err != nil {
		return err
	}
	cfg, err := aw.load(ctx)
	if err != nil {
		return err
	}
	doc := statusAllDoc{Table: *table, Pairs: []pairSummary{}}
	db := awsclient.DynamoDB(cfg)
	for {
		page, next, err := scanPairs(ctx, db, *table, int32(*pageSize), start, cfg.Region)
		if err != nil {
			return err
		}
		doc.Pairs = append(doc.Pairs, page...)
		if !asJSON {
			printPairSummaries(env.stdout, page, start == nil)
		}
		start = next
		if next == nil || !*allPages {
			break
		}
	}
	if start != nil {
		if doc.NextToken, err = encodeStatusToken(start); err != nil {
			return err
		}
	}
	if asJSON {
		return writeJSON(env.stdout, doc)
	}
	if doc.NextToken != "" {
		fmt.Fprintf(env.stdout, "more pairs: crr status --all --page-size %d --starting-token %s\n", *pageSize, doc.NextToken)
	} else if len(doc.Pairs) == 0 && *startToken == "" {
		fmt.Fprintf(env.stdout, "no pair is registered in table %s (crr apply -f FILE provisions one)\n", *table)
	}
	return nil
}

// scanPairs reads one page of at most limit pairs after start, and the key to continue
// from (nil after the last page).
func scanPairs(ctx context.Context, c pairScanAPI, table string, limit int32, start map[string]ddbtypes.AttributeValue, region string) ([]pairSummary, map[string]ddbtypes.AttributeValue, error) {
	// Attribute names through placeholders: some (source) are DynamoDB reserved words.
	exprNames := map[string]string{}
	proj := ""
	for i, a := range pairSummaryAttributes {
		p := "#a" + strconv.Itoa(i)
		exprNames[p] = a
		if proj != "" {
			proj += ", "
		}
		proj += p
	}
	out, err := c.Scan(ctx, &dynamodb.ScanInput{
		TableName: aws.String(table), Limit: aws.Int32(limit), ExclusiveStartKey: start,
		ProjectionExpression: aws.String(proj), ExpressionAttributeNames: exprNames,
	})
	if err != nil {
		return nil, nil, explain(err, "dynamodb:Scan", table, map[string]string{
			"ResourceNotFoundException": fmt.Sprintf("there is no table %s in %s: deploy the HubStack, or pass --table (output PairsTableName of stack s3crr-hub) and --region for the hub's region", table, region),
		})
	}
	page := make([]pairSummary, 0, len(out.Items))
	for _, it := range out.Items {
		page = append(page, summarize(it))
	}
	slices.SortFunc(page, func(a, b pairSummary) int {
		if a.PairID < b.PairID {
			return -1
		}
		if a.PairID > b.PairID {
			return 1
		}
		return 0
	})
	if len(out.LastEvaluatedKey) == 0 {
		return page, nil, nil
	}
	return page, out.LastEvaluatedKey, nil
}

// summarize reads one pairs-table item.
func summarize(item map[string]ddbtypes.AttributeValue) pairSummary {
	s := pairSummary{
		PairID: str(item, names.PairsTableKey), RegisteredAt: str(item, "registeredAt"), ProvisionedBy: str(item, "executionArn"),
		VerifyStatus: str(item, verifyjob.AttrVerifyStatus), LastVerified: str(item, verifyjob.AttrLastVerified),
	}
	side := func(k string) string {
		m, ok := item[k].(*ddbtypes.AttributeValueMemberM)
		if !ok {
			return ""
		}
		return fmt.Sprintf("s3://%s (%s/%s)", str(m.Value, "bucket"), str(m.Value, "account"), str(m.Value, "region"))
	}
	s.Source, s.Destination = side("source"), side("destination")
	if n, ok := item[verifyjob.AttrFindingCount].(*ddbtypes.AttributeValueMemberN); ok {
		if v, err := strconv.Atoi(n.Value); err == nil {
			s.FindingCount = &v
		}
	}
	if n, ok := item[verifyjob.AttrCanaryLatency].(*ddbtypes.AttributeValueMemberN); ok {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			s.CanaryLatencyS = &v
		}
	}
	return s
}

// printPairSummaries prints one page as a table, its header on the first page only.
func printPairSummaries(w io.Writer, page []pairSummary, header bool) {
	if header {
		fmt.Fprintf(w, "%-32s %-20s %-34s %s\n", "PAIR", "REGISTERED", "LAST VERIFICATION", "SOURCE -> DESTINATION")
	}
	for _, p := range page {
		verified := "never"
		if p.VerifyStatus != "" {
			verified = p.VerifyStatus + " " + p.LastVerified
			if p.FindingCount != nil && *p.FindingCount > 0 {
				verified += fmt.Sprintf(" (%d findings)", *p.FindingCount)
			}
		}
		fmt.Fprintf(w, "%-32s %-20s %-34s %s -> %s\n", p.PairID, p.RegisteredAt, verified, p.Source, p.Destination)
	}
}

// encodeStatusToken turns a Scan's LastEvaluatedKey (the table's string key) into an
// opaque token for the command line.
func encodeStatusToken(key map[string]ddbtypes.AttributeValue) (string, error) {
	plain := map[string]string{}
	for k, v := range key {
		s, ok := v.(*ddbtypes.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("encode the next page's token: key attribute %s is not a string", k)
		}
		plain[k] = s.Value
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeStatusToken reads --starting-token; "" is the first page.
func decodeStatusToken(token string) (map[string]ddbtypes.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	plain := map[string]string{}
	if err == nil {
		err = json.Unmarshal(b, &plain)
	}
	if err != nil || plain[names.PairsTableKey] == "" {
		return nil, usagef("--starting-token %q is not a token crr status --all printed: copy it from the end of the previous page", token)
	}
	key := map[string]ddbtypes.AttributeValue{}
	for k, v := range plain {
		key[k] = &ddbtypes.AttributeValueMemberS{Value: v}
	}
	return key, nil
}
