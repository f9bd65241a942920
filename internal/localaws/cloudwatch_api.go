package localaws

import (
	"encoding/base64"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// The CloudWatch operations. Each handler runs with s.mu held, validates its input as
// CloudWatch does, authorizes the caller (identity policies only, on the alarm ARN), and
// returns the response or a CloudWatch-coded error.

// cwDimension is a metric dimension as the API spells it.
type cwDimension struct {
	Name  string
	Value string
}

// cwTag is a CloudWatch resource tag as the API spells it.
type cwTag struct {
	Key   string
	Value string
}

// cwMetricAlarm is the MetricAlarm structure DescribeAlarms returns.
type cwMetricAlarm struct {
	AlarmName                          string
	AlarmArn                           string
	AlarmDescription                   *string `cbor:",omitempty"`
	AlarmConfigurationUpdatedTimestamp time.Time
	ActionsEnabled                     bool
	OKActions                          []string
	AlarmActions                       []string
	InsufficientDataActions            []string
	StateValue                         string
	StateReason                        string
	StateUpdatedTimestamp              time.Time
	StateTransitionedTimestamp         time.Time
	MetricName                         string
	Namespace                          string
	Statistic                          string `cbor:",omitempty"`
	ExtendedStatistic                  string `cbor:",omitempty"`
	Dimensions                         []cwDimension
	Period                             int32
	Unit                               string `cbor:",omitempty"`
	EvaluationPeriods                  int32
	DatapointsToAlarm                  *int32 `cbor:",omitempty"`
	Threshold                          float64
	ComparisonOperator                 string
	TreatMissingData                   string `cbor:",omitempty"`
	EvaluateLowSampleCountPercentile   string `cbor:",omitempty"`
}

// Enumerations of the CloudWatch model that PutMetricAlarm and DescribeAlarms check.
var (
	cwComparisonOperators = map[string]bool{
		"GreaterThanOrEqualToThreshold": true, "GreaterThanThreshold": true, "LessThanThreshold": true,
		"LessThanOrEqualToThreshold": true, "LessThanLowerOrGreaterThanUpperThreshold": true,
		"LessThanLowerThreshold": true, "GreaterThanUpperThreshold": true,
	}
	cwStatistics = map[string]bool{"SampleCount": true, "Average": true, "Sum": true, "Minimum": true, "Maximum": true}
	cwUnits      = map[string]bool{
		"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true, "Megabytes": true,
		"Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true, "Megabits": true, "Gigabits": true,
		"Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true, "Kilobytes/Second": true,
		"Megabytes/Second": true, "Gigabytes/Second": true, "Terabytes/Second": true, "Bits/Second": true,
		"Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true, "Terabits/Second": true,
		"Count/Second": true, "None": true,
	}
	cwMissingData   = map[string]bool{"breaching": true, "notBreaching": true, "ignore": true, "missing": true}
	cwStateValues   = map[string]bool{"OK": true, "ALARM": true, "INSUFFICIENT_DATA": true}
	cwAlarmTypes    = map[string]bool{"CompositeAlarm": true, "MetricAlarm": true}
	cwLowSampleEval = map[string]bool{"evaluate": true, "ignore": true}
	// cwPercentile is the form of ExtendedStatistic the simulator accepts (pNN, pNN.NN);
	// CloudWatch also accepts trimmed means and the like, which s3crr never uses.
	cwPercentile = regexp.MustCompile(`^p(\d{1,2}(\.\d{0,2})?|100)$`)
)

// cwEnum checks an enumerated member.
func cwEnum(field, v string, allowed map[string]bool) *apiError {
	if allowed[v] {
		return nil
	}
	return errf(http.StatusBadRequest, "ValidationError",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
		v, field, strings.Join(sortedKeys(allowed), ", "))
}

// cwLength checks a string member's length.
func cwLength(field, v string, min, max int) *apiError {
	if len(v) < min || len(v) > max {
		return cwValidation(field, "Member must have length between "+strconv.Itoa(min)+" and "+strconv.Itoa(max))
	}
	return nil
}

// cwCheckTags validates tags as PutMetricAlarm and TagResource do.
func cwCheckTags(tags []cwTag) *apiError {
	if len(tags) > 50 {
		return cwValidation("tags", "Member must have length less than or equal to 50")
	}
	for _, t := range tags {
		if err := cwLength("tags.member.key", t.Key, 1, 128); err != nil {
			return err
		}
		if err := cwLength("tags.member.value", t.Value, 0, 256); err != nil {
			return err
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return cwInvalidValue("Tag keys beginning with aws: are reserved for AWS use: %s", t.Key)
		}
	}
	return nil
}

// cwTagContext is the aws:RequestTag/* and aws:TagKeys context of a tagging request.
func cwTagContext(ctx map[string][]string, tags []cwTag) map[string][]string {
	return addRequestTagContext(ctx, tags, func(t cwTag) (string, string) { return t.Key, t.Value })
}

// --- PutMetricAlarm ---------------------------------------------------------------

type cwPutMetricAlarmIn struct {
	AlarmName                        *string
	AlarmDescription                 *string
	ActionsEnabled                   *bool
	OKActions                        []string
	AlarmActions                     []string
	InsufficientDataActions          []string
	MetricName                       *string
	Namespace                        *string
	Statistic                        *string
	ExtendedStatistic                *string
	Dimensions                       []cwDimension
	Period                           *int32
	Unit                             *string
	EvaluationPeriods                *int32
	DatapointsToAlarm                *int32
	Threshold                        *float64
	ComparisonOperator               *string
	TreatMissingData                 *string
	EvaluateLowSampleCountPercentile *string
	Tags                             []cwTag
	// Features of the real API the simulator does not model; present means rejected.
	Metrics             cbor.RawMessage
	ThresholdMetricId   *string
	EvaluationCriteria  cbor.RawMessage
	EvaluationInterval  *int32
	EvaluationWindow    cbor.RawMessage
	WarmUpConfiguration cbor.RawMessage
	ActionConfiguration cbor.RawMessage
}

// validate checks a PutMetricAlarm request as CloudWatch does, for single-metric alarms
// with a static threshold.
func (in *cwPutMetricAlarmIn) validate() *apiError {
	if in.AlarmName == nil {
		return cwRequired("alarmName")
	}
	if err := cwLength("alarmName", *in.AlarmName, 1, 255); err != nil {
		return err
	}
	switch {
	case len(in.Metrics) > 0:
		return cwUnsupported("metric math alarms (Metrics)")
	case in.ThresholdMetricId != nil:
		return cwUnsupported("anomaly detection alarms (ThresholdMetricId)")
	case len(in.EvaluationCriteria) > 0 || in.EvaluationInterval != nil || len(in.EvaluationWindow) > 0:
		return cwUnsupported("PromQL alarms (EvaluationCriteria, EvaluationInterval, EvaluationWindow)")
	case len(in.WarmUpConfiguration) > 0 || len(in.ActionConfiguration) > 0:
		return cwUnsupported("WarmUpConfiguration and ActionConfiguration")
	}
	if in.AlarmDescription != nil {
		if err := cwLength("alarmDescription", *in.AlarmDescription, 0, 1024); err != nil {
			return err
		}
	}
	if in.ComparisonOperator == nil {
		return cwRequired("comparisonOperator")
	}
	if err := cwEnum("comparisonOperator", *in.ComparisonOperator, cwComparisonOperators); err != nil {
		return err
	}
	if in.EvaluationPeriods == nil {
		return cwRequired("evaluationPeriods")
	}
	if *in.EvaluationPeriods < 1 {
		return cwValidation("evaluationPeriods", "Member must have value greater than or equal to 1")
	}
	if in.MetricName == nil {
		return cwCombination("Exactly one element of the MetricName and Metrics parameters must be specified.")
	}
	if err := cwLength("metricName", *in.MetricName, 1, 255); err != nil {
		return err
	}
	if in.Namespace == nil {
		return cwMissing("Namespace")
	}
	if err := cwLength("namespace", *in.Namespace, 1, 255); err != nil {
		return err
	}
	if strings.HasPrefix(*in.Namespace, ":") {
		return cwValidation("namespace", "Member must satisfy regular expression pattern: [^:].*")
	}
	if (in.Statistic == nil) == (in.ExtendedStatistic == nil) {
		return cwCombination("Exactly one element of the Statistic and ExtendedStatistic parameters must be specified.")
	}
	if in.Statistic != nil {
		if err := cwEnum("statistic", *in.Statistic, cwStatistics); err != nil {
			return err
		}
	} else if !cwPercentile.MatchString(*in.ExtendedStatistic) {
		return cwInvalidValue("The value %s for parameter ExtendedStatistic is not supported.", *in.ExtendedStatistic)
	}
	if in.EvaluateLowSampleCountPercentile != nil {
		if err := cwEnum("evaluateLowSampleCountPercentile", *in.EvaluateLowSampleCountPercentile, cwLowSampleEval); err != nil {
			return err
		}
		if in.ExtendedStatistic == nil {
			return cwCombination("EvaluateLowSampleCountPercentile can only be used with a percentile ExtendedStatistic.")
		}
	}
	if in.Period == nil {
		return cwMissing("Period")
	}
	p := *in.Period
	if p < 1 {
		return cwValidation("period", "Member must have value greater than or equal to 1")
	}
	if p != 10 && p != 20 && p != 30 && p%60 != 0 {
		return cwInvalidValue("The parameter Period must be 10, 20, 30, or a multiple of 60.")
	}
	// An alarm evaluates at most one day of data with periods under an hour, seven days
	// otherwise.
	limit := int64(86400)
	if p >= 3600 {
		limit = 604800
	}
	if int64(p)*int64(*in.EvaluationPeriods) > limit {
		return cwCombination("The total evaluation period (Period * EvaluationPeriods = %d seconds) must not exceed %d seconds.", int64(p)*int64(*in.EvaluationPeriods), limit)
	}
	if in.DatapointsToAlarm != nil {
		if *in.DatapointsToAlarm < 1 {
			return cwValidation("datapointsToAlarm", "Member must have value greater than or equal to 1")
		}
		if *in.DatapointsToAlarm > *in.EvaluationPeriods {
			return cwCombination("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
		}
	}
	if in.Threshold == nil {
		return cwMissing("Threshold")
	}
	if in.TreatMissingData != nil {
		if err := cwLength("treatMissingData", *in.TreatMissingData, 1, 255); err != nil {
			return err
		}
		if !cwMissingData[*in.TreatMissingData] {
			return cwInvalidValue("The value %s for parameter TreatMissingData is not supported (breaching, notBreaching, ignore, missing).", *in.TreatMissingData)
		}
	}
	if in.Unit != nil {
		if err := cwEnum("unit", *in.Unit, cwUnits); err != nil {
			return err
		}
	}
	if len(in.Dimensions) > 30 {
		return cwValidation("dimensions", "Member must have length less than or equal to 30")
	}
	seen := map[string]bool{}
	for _, d := range in.Dimensions {
		if err := cwLength("dimensions.member.name", d.Name, 1, 255); err != nil {
			return err
		}
		if err := cwLength("dimensions.member.value", d.Value, 1, 1024); err != nil {
			return err
		}
		if seen[d.Name] {
			return cwInvalidValue("The dimension %s is specified more than once.", d.Name)
		}
		seen[d.Name] = true
	}
	for field, actions := range map[string][]string{"oKActions": in.OKActions, "alarmActions": in.AlarmActions, "insufficientDataActions": in.InsufficientDataActions} {
		if len(actions) > 5 {
			return cwValidation(field, "Member must have length less than or equal to 5")
		}
		for _, a := range actions {
			if err := cwLength(field+".member", a, 1, 1024); err != nil {
				return err
			}
			if !strings.HasPrefix(a, "arn:") {
				return cwInvalidValue("Invalid arn syntax: %s", a)
			}
		}
	}
	return cwCheckTags(in.Tags)
}

func (s *Server) cwPutMetricAlarm(c *call, body []byte) (any, *apiError) {
	var in cwPutMetricAlarmIn
	if err := cwDecode(body, &in); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	reg := s.cwRegionOf(c.p.account, c.region)
	name := *in.AlarmName
	arn := cwAlarmARN(c.region, c.p.account, name)
	existing := reg.alarms[name]

	ctx := cwTagContext(c.requestContext(), in.Tags)
	if actions := slices.Concat(in.AlarmActions, in.OKActions, in.InsufficientDataActions); len(actions) > 0 {
		ctx["cloudwatch:AlarmActions"] = actions
	}
	if existing != nil {
		ctx = cwResourceTagContext(ctx, existing.tags)
	}
	if err := s.cwAuthorize(c, "cloudwatch:PutMetricAlarm", arn, ctx); err != nil {
		return nil, err
	}
	// Tags apply only when the alarm is created ("If you are using this operation to
	// update an existing alarm, any tags you specify in this parameter are ignored"), and
	// then need cloudwatch:TagResource too.
	if existing == nil && len(in.Tags) > 0 {
		if err := s.cwAuthorize(c, "cloudwatch:TagResource", arn, cwTagContext(c.requestContext(), in.Tags)); err != nil {
			return nil, err
		}
	}

	now := s.cwNow()
	a := cwMetricAlarm{
		AlarmName:                          name,
		AlarmArn:                           arn,
		AlarmDescription:                   in.AlarmDescription,
		AlarmConfigurationUpdatedTimestamp: now,
		ActionsEnabled:                     in.ActionsEnabled == nil || *in.ActionsEnabled,
		OKActions:                          slices.Clone(in.OKActions),
		AlarmActions:                       slices.Clone(in.AlarmActions),
		InsufficientDataActions:            slices.Clone(in.InsufficientDataActions),
		StateValue:                         "INSUFFICIENT_DATA",
		StateReason:                        "Unchecked: Initial alarm creation",
		StateUpdatedTimestamp:              now,
		StateTransitionedTimestamp:         now,
		MetricName:                         *in.MetricName,
		Namespace:                          *in.Namespace,
		Dimensions:                         slices.Clone(in.Dimensions),
		Period:                             *in.Period,
		EvaluationPeriods:                  *in.EvaluationPeriods,
		DatapointsToAlarm:                  in.DatapointsToAlarm,
		Threshold:                          *in.Threshold,
		ComparisonOperator:                 *in.ComparisonOperator,
	}
	if in.Statistic != nil {
		a.Statistic = *in.Statistic
	} else {
		a.ExtendedStatistic = *in.ExtendedStatistic
	}
	if in.Unit != nil {
		a.Unit = *in.Unit
	}
	if in.TreatMissingData != nil {
		a.TreatMissingData = *in.TreatMissingData
	}
	if in.EvaluateLowSampleCountPercentile != nil {
		a.EvaluateLowSampleCountPercentile = *in.EvaluateLowSampleCountPercentile
	}
	if existing != nil {
		// An update replaces the whole configuration but leaves the state as it was.
		a.StateValue, a.StateReason = existing.out.StateValue, existing.out.StateReason
		a.StateUpdatedTimestamp, a.StateTransitionedTimestamp = existing.out.StateUpdatedTimestamp, existing.out.StateTransitionedTimestamp
		existing.out = a
		return nil, nil
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[t.Key] = t.Value
	}
	reg.alarms[name] = &cwAlarm{out: a, tags: tags}
	return nil, nil
}

// --- DescribeAlarms ---------------------------------------------------------------

type cwDescribeAlarmsIn struct {
	AlarmNames          []string
	AlarmNamePrefix     *string
	AlarmTypes          []string
	ChildrenOfAlarmName *string
	ParentsOfAlarmName  *string
	StateValue          *string
	ActionPrefix        *string
	MaxRecords          *int32
	NextToken           *string
}

type cwDescribeAlarmsOut struct {
	MetricAlarms    []cwMetricAlarm
	CompositeAlarms []any
	NextToken       *string `cbor:",omitempty"`
}

func (in *cwDescribeAlarmsIn) validate() *apiError {
	if len(in.AlarmNames) > 100 {
		return cwValidation("alarmNames", "Member must have length less than or equal to 100")
	}
	for _, n := range in.AlarmNames {
		if err := cwLength("alarmNames.member", n, 1, 255); err != nil {
			return err
		}
	}
	if in.AlarmNamePrefix != nil {
		if err := cwLength("alarmNamePrefix", *in.AlarmNamePrefix, 1, 255); err != nil {
			return err
		}
		if len(in.AlarmNames) > 0 {
			return cwCombination("AlarmNamePrefix and AlarmNames cannot be specified together.")
		}
	}
	for _, t := range in.AlarmTypes {
		if err := cwEnum("alarmTypes.member", t, cwAlarmTypes); err != nil {
			return err
		}
	}
	if in.StateValue != nil {
		if err := cwEnum("stateValue", *in.StateValue, cwStateValues); err != nil {
			return err
		}
	}
	if in.ActionPrefix != nil {
		if err := cwLength("actionPrefix", *in.ActionPrefix, 1, 1024); err != nil {
			return err
		}
	}
	if in.MaxRecords != nil && (*in.MaxRecords < 1 || *in.MaxRecords > 100) {
		return cwValidation("maxRecords", "Member must have value between 1 and 100")
	}
	return nil
}

// cwDescribeAlarms authorizes cloudwatch:DescribeAlarms on alarm resources, as the
// Service Authorization Reference lists it (resource type alarm*): on each named alarm's
// ARN when AlarmNames is given; otherwise on the set the request names,
// arn:...:alarm:<prefix>* (alarm:* for every alarm), so a policy scoped to alarm:s3crr-*
// may list s3crr-* alarms by prefix but not every alarm of the account.
func (s *Server) cwDescribeAlarms(c *call, body []byte) (any, *apiError) {
	var in cwDescribeAlarmsIn
	if err := cwDecode(body, &in); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	ctx := c.requestContext()
	if len(in.AlarmNames) > 0 {
		for _, n := range in.AlarmNames {
			if err := s.cwAuthorize(c, "cloudwatch:DescribeAlarms", cwAlarmARN(c.region, c.p.account, n), ctx); err != nil {
				return nil, err
			}
		}
	} else {
		prefix := ""
		if in.AlarmNamePrefix != nil {
			prefix = *in.AlarmNamePrefix
		}
		if err := s.cwAuthorize(c, "cloudwatch:DescribeAlarms", cwAlarmARN(c.region, c.p.account, prefix+"*"), ctx); err != nil {
			return nil, err
		}
	}

	out := cwDescribeAlarmsOut{MetricAlarms: []cwMetricAlarm{}, CompositeAlarms: []any{}}
	// Only metric alarms exist here; without AlarmTypes CloudWatch returns metric alarms
	// only, and the composite-alarm filters match nothing.
	if (len(in.AlarmTypes) > 0 && !slices.Contains(in.AlarmTypes, "MetricAlarm")) || in.ChildrenOfAlarmName != nil || in.ParentsOfAlarmName != nil {
		return out, nil
	}
	start := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || !strings.HasPrefix(string(b), "alarm:") {
			return nil, errf(http.StatusBadRequest, "InvalidNextToken", "The next token specified is invalid.")
		}
		start = strings.TrimPrefix(string(b), "alarm:")
	}
	limit := 50
	if in.MaxRecords != nil {
		limit = int(*in.MaxRecords)
	}
	for _, a := range s.cwRegionOf(c.p.account, c.region).sortedAlarms() {
		switch {
		case a.out.AlarmName < start:
			continue
		case len(in.AlarmNames) > 0 && !slices.Contains(in.AlarmNames, a.out.AlarmName):
			continue
		case in.AlarmNamePrefix != nil && !strings.HasPrefix(a.out.AlarmName, *in.AlarmNamePrefix):
			continue
		case in.StateValue != nil && a.out.StateValue != *in.StateValue:
			continue
		case in.ActionPrefix != nil && !slices.ContainsFunc(slices.Concat(a.out.AlarmActions, a.out.OKActions, a.out.InsufficientDataActions),
			func(x string) bool { return strings.HasPrefix(x, *in.ActionPrefix) }):
			continue
		}
		if len(out.MetricAlarms) == limit {
			tok := base64.RawURLEncoding.EncodeToString([]byte("alarm:" + a.out.AlarmName))
			out.NextToken = &tok
			break
		}
		out.MetricAlarms = append(out.MetricAlarms, cwCopyAlarm(a.out))
	}
	return out, nil
}

// cwCopyAlarm copies an alarm for a response, so the stored one shares nothing with it.
func cwCopyAlarm(a cwMetricAlarm) cwMetricAlarm {
	a.OKActions = slices.Clone(a.OKActions)
	a.AlarmActions = slices.Clone(a.AlarmActions)
	a.InsufficientDataActions = slices.Clone(a.InsufficientDataActions)
	a.Dimensions = slices.Clone(a.Dimensions)
	return a
}

// --- DeleteAlarms -----------------------------------------------------------------

type cwDeleteAlarmsIn struct {
	AlarmNames []string
}

// cwDeleteAlarms deletes every named alarm, or none: "In the event of an error, no
// alarms are deleted."
func (s *Server) cwDeleteAlarms(c *call, body []byte) (any, *apiError) {
	var in cwDeleteAlarmsIn
	if err := cwDecode(body, &in); err != nil {
		return nil, err
	}
	if in.AlarmNames == nil {
		return nil, cwRequired("alarmNames")
	}
	if len(in.AlarmNames) > 100 {
		return nil, cwValidation("alarmNames", "Member must have length less than or equal to 100")
	}
	reg := s.cwRegionOf(c.p.account, c.region)
	var missing []string
	for _, n := range in.AlarmNames {
		if err := cwLength("alarmNames.member", n, 1, 255); err != nil {
			return nil, err
		}
		ctx := c.requestContext()
		if a := reg.alarms[n]; a != nil {
			ctx = cwResourceTagContext(ctx, a.tags)
		} else {
			missing = append(missing, n)
		}
		if err := s.cwAuthorize(c, "cloudwatch:DeleteAlarms", cwAlarmARN(c.region, c.p.account, n), ctx); err != nil {
			return nil, err
		}
	}
	if len(missing) > 0 {
		return nil, errf(http.StatusNotFound, "ResourceNotFound", "The following alarms could not be found: [%s]", strings.Join(missing, ", "))
	}
	for _, n := range in.AlarmNames {
		delete(reg.alarms, n)
	}
	return nil, nil
}

// --- tags -------------------------------------------------------------------------

// cwAlarmByARN resolves a ResourceARN to an alarm of the caller's account and region.
// The alarm is nil, with no error, when the ARN is a well-formed alarm ARN of another
// account (authorization decides that case); a malformed ARN is InvalidParameterValue and
// a missing alarm ResourceNotFoundException. The caller holds s.mu.
func (s *Server) cwAlarmByARN(c *call, arn *string) (*cwAlarm, string, *apiError) {
	if arn == nil {
		return nil, "", cwRequired("resourceARN")
	}
	parts := strings.SplitN(*arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "cloudwatch" || !accountIDPattern.MatchString(parts[4]) {
		return nil, "", cwInvalidValue("Invalid ARN: %s", *arn)
	}
	if parts[5] != "alarm" {
		return nil, "", cwUnsupported("tags on resources other than alarms: " + *arn)
	}
	if parts[4] != c.p.account {
		return nil, *arn, nil
	}
	if parts[3] == c.region {
		if a := s.cwRegionOf(c.p.account, c.region).alarms[parts[6]]; a != nil {
			return a, *arn, nil
		}
	}
	return nil, *arn, errf(http.StatusNotFound, "ResourceNotFoundException", "Alarm %s not found", *arn)
}

type cwTagResourceIn struct {
	ResourceARN *string
	Tags        []cwTag
}

func (s *Server) cwTagResource(c *call, body []byte) (any, *apiError) {
	var in cwTagResourceIn
	if err := cwDecode(body, &in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, cwRequired("tags")
	}
	if err := cwCheckTags(in.Tags); err != nil {
		return nil, err
	}
	a, arn, aerr := s.cwAlarmByARN(c, in.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	ctx := cwTagContext(c.requestContext(), in.Tags)
	if a != nil {
		ctx = cwResourceTagContext(ctx, a.tags)
	}
	if err := s.cwAuthorize(c, "cloudwatch:TagResource", arn, ctx); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errf(http.StatusNotFound, "ResourceNotFoundException", "Alarm %s not found", arn)
	}
	merged := maps.Clone(a.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	for _, t := range in.Tags {
		merged[t.Key] = t.Value
	}
	if len(merged) > 50 {
		return nil, errf(http.StatusBadRequest, "LimitExceededException", "An alarm can have at most 50 tags.")
	}
	a.tags = merged
	return nil, nil
}

type cwUntagResourceIn struct {
	ResourceARN *string
	TagKeys     []string
}

func (s *Server) cwUntagResource(c *call, body []byte) (any, *apiError) {
	var in cwUntagResourceIn
	if err := cwDecode(body, &in); err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, cwRequired("tagKeys")
	}
	a, arn, aerr := s.cwAlarmByARN(c, in.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	ctx := c.requestContext()
	ctx["aws:TagKeys"] = slices.Clone(in.TagKeys)
	if a != nil {
		ctx = cwResourceTagContext(ctx, a.tags)
	}
	if err := s.cwAuthorize(c, "cloudwatch:UntagResource", arn, ctx); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errf(http.StatusNotFound, "ResourceNotFoundException", "Alarm %s not found", arn)
	}
	for _, k := range in.TagKeys {
		delete(a.tags, k)
	}
	return nil, nil
}

type cwListTagsIn struct {
	ResourceARN *string
}

type cwListTagsOut struct {
	Tags []cwTag
}

func (s *Server) cwListTagsForResource(c *call, body []byte) (any, *apiError) {
	var in cwListTagsIn
	if err := cwDecode(body, &in); err != nil {
		return nil, err
	}
	a, arn, aerr := s.cwAlarmByARN(c, in.ResourceARN)
	if aerr != nil {
		return nil, aerr
	}
	ctx := c.requestContext()
	if a != nil {
		ctx = cwResourceTagContext(ctx, a.tags)
	}
	if err := s.cwAuthorize(c, "cloudwatch:ListTagsForResource", arn, ctx); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errf(http.StatusNotFound, "ResourceNotFoundException", "Alarm %s not found", arn)
	}
	out := cwListTagsOut{Tags: []cwTag{}}
	for _, k := range sortedKeys(a.tags) {
		out.Tags = append(out.Tags, cwTag{Key: k, Value: a.tags[k]})
	}
	return out, nil
}
