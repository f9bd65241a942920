package localaws

import (
	"maps"
	"slices"
	"time"

	"github.com/s3crr/s3crr/internal/localaws/authz"
)

// PutMetricData, so that a hub Lambda's custom metrics (the verification metrics) land
// somewhere a test can read. Only what CloudWatch documents for the call's
// authorization is simulated: it has no resource ("*"), and the cloudwatch:namespace
// condition key carries the namespace
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).

// Metric is one data point a caller put.
type Metric struct {
	Namespace, Name string
	Dimensions      map[string]string
	Value           float64
	Unit            string
	Timestamp       time.Time
}

type cwMetricDatum struct {
	MetricName string
	Dimensions []cwDimension
	Value      *float64
	Unit       string
	Timestamp  *time.Time
}

type cwPutMetricDataIn struct {
	Namespace  string
	MetricData []cwMetricDatum
}

func init() { cwHandlers["PutMetricData"] = (*Server).cwPutMetricData }

func (s *Server) cwPutMetricData(c *call, body []byte) (any, *apiError) {
	var in cwPutMetricDataIn
	if err := cwDecode(body, &in); err != nil {
		return nil, err
	}
	if in.Namespace == "" {
		return nil, cwRequired("namespace")
	}
	if len(in.MetricData) > 1000 {
		return nil, cwValidation("metricData", "Member must have length less than or equal to 1000")
	}
	ctx := c.requestContext()
	ctx["cloudwatch:namespace"] = []string{in.Namespace}
	if err := s.authorize(authRequest{p: c.p, mode: authz.ModeStandard, action: "cloudwatch:PutMetricData",
		resource: "*", resourceAccount: c.p.account, context: ctx}); err != nil {
		return nil, err
	}
	reg := s.cwRegionOf(c.p.account, c.region)
	for _, d := range in.MetricData {
		if d.MetricName == "" {
			return nil, cwRequired("metricData.member.metricName")
		}
		m := Metric{Namespace: in.Namespace, Name: d.MetricName, Unit: d.Unit, Dimensions: map[string]string{}, Timestamp: s.cwNow()}
		if d.Value != nil {
			m.Value = *d.Value
		}
		if d.Timestamp != nil {
			m.Timestamp = d.Timestamp.UTC()
		}
		for _, dim := range d.Dimensions {
			m.Dimensions[dim.Name] = dim.Value
		}
		reg.metrics = append(reg.metrics, m)
	}
	return struct{}{}, nil
}

// Metrics returns the data points put in an account and region, oldest first.
func (s *Server) Metrics(account, region string) []Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.cw[account+"/"+region]
	if r == nil {
		return nil
	}
	out := slices.Clone(r.metrics)
	for i := range out {
		out[i].Dimensions = maps.Clone(out[i].Dimensions)
	}
	return out
}
