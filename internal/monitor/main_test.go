package monitor

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain silences the monitor's logs (storm tests log thousands of lines) unless -v.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}
