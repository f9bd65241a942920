package main

import (
	"strings"
	"testing"
)

func TestUpPortsReadsTheHubAndMembersPorts(t *testing.T) {
	tests := []struct {
		give                 []string
		wantHub, wantMembers int
	}{
		{give: []string{"local", "up"}, wantHub: defaultHubPort, wantMembers: defaultMembersPort},
		{give: []string{"local", "up", "--port", "5000"}, wantHub: 5000, wantMembers: defaultMembersPort},
		{give: []string{"local", "up", "-port=0", "--members-port=6000"}, wantHub: 0, wantMembers: 6000},
		{give: []string{"local", "up", "--env-file", "port", "--port", "x"}, wantHub: defaultHubPort, wantMembers: defaultMembersPort},
	}
	for _, tt := range tests {
		hub, members := upPorts(tt.give)
		if hub != tt.wantHub || members != tt.wantMembers {
			t.Errorf("upPorts(%q) = %d, %d; want %d, %d", tt.give, hub, members, tt.wantHub, tt.wantMembers)
		}
	}
}

func TestFaultFlag(t *testing.T) {
	var f faultFlag
	for _, v := range []string{"kms:CreateKey:ThrottlingException", "s3:PutObject:SlowDown:111111111111:2"} {
		if err := f.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	if len(f.faults) != 2 {
		t.Fatalf("%d faults, want 2", len(f.faults))
	}
	if k := f.faults[0]; k.Service != "kms" || k.Operation != "CreateKey" || k.Code != "ThrottlingException" || k.Status != 400 || k.Account != "" || k.Times != 0 {
		t.Errorf("first fault %+v", k)
	}
	if s := f.faults[1]; s.Status != 503 || s.Account != "111111111111" || s.Times != 2 {
		t.Errorf("second fault %+v; want 503 SlowDown in 111111111111, twice", s)
	}
	for _, bad := range []string{"kms", "kms:CreateKey", "kms::X", "s3:PutObject:SlowDown:1:twice"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

func TestOutputFlagIsTextOrJSON(t *testing.T) {
	for _, args := range [][]string{
		{"plan", "-f", "x.json", "--output", "yaml"},
		{"apply", "-f", "x.json", "--output", "table"},
		{"status", "some-pair", "--output", "xml"},
		{"validate", "-f", "x.json", "--output", "csv"},
		{"local", "up", "--output", "yaml"},
		{"doctor", "-f", "x.json", "--output", "yaml"},
		{"monitor", "preview", "-f", "x.json", "--output", "yaml"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "--output must be text or json") {
			t.Errorf("crr %s: exit %d, stderr %q; want a usage error naming text and json", strings.Join(args, " "), code, stderr)
		}
	}
}

func TestEndpointURLMustBeAURL(t *testing.T) {
	useEndpoints(t, map[string]string{})
	code, _, stderr := runCLI(t, "status", "some-pair", "--endpoint-url", "localhost:4566")
	if code != exitUsage || !strings.Contains(stderr, "is not an http(s) URL") {
		t.Errorf("exit %d, stderr %q; want a usage error", code, stderr)
	}
}
