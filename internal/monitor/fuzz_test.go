package monitor

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzDecode: no input makes the decoder (or alert rendering of what it decodes) panic,
// and every alert it leads to fits SNS's limits. Seeds: every sample event, plus the
// committed corpus in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		d, err := Decode(payload)
		if err != nil {
			return
		}
		for _, s := range d.Signals {
			if s.ID == "" {
				t.Fatalf("signal without ID: %+v", s)
			}
			a := build(s, Pair{}, false, 1, time.Time{})
			if len(a.Subject) >= 100 {
				t.Fatalf("subject of %d characters", len(a.Subject))
			}
			in, err := PublishInput("arn:aws:sns:eu-west-1:333333333333:s3crr-alerts", a)
			if err != nil {
				t.Fatal(err)
			}
			if len(*in.Message) >= maxMessage {
				t.Fatalf("message of %d bytes", len(*in.Message))
			}
		}
	})
}
