package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3crr/s3crr/internal/localhub"
	"github.com/s3crr/s3crr/internal/testenv"
)

// TestDoctorOnATutorialPairMadeWithTheAWSCLI runs scripts/handmade-doctor.sh: a pair set
// up by hand with the AWS CLI against `crr local up`, following the console tutorial's
// steps with its known mistakes corrected (none of s3crr's builders). crr doctor must exit
// 0 on it, the uploaded file must replicate under the destination key, and once the
// destination key policy's statement for the role is removed, crr doctor must exit 1
// naming the destination key policy, the key and the fix. The script checks each verdict;
// this test holds its exit code and its PASS line.
func TestDoctorOnATutorialPairMadeWithTheAWSCLI(t *testing.T) {
	root, err := localhub.FindModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	testenv.RequireNodeModules(t, root)
	aws := testenv.RequireCommand(t, "aws", testenv.InstallAWSCLI)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "handmade-doctor.sh"))
	cmd.Env = append(cleanEnv(t), "CRR="+crrBinary(t), "AWS_CLI="+aws)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS: crr doctor on a hand-made pair") {
		t.Fatalf("scripts/handmade-doctor.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"ok: crr doctor exits 0", "ok: test.txt replicated under B's key", "ok: crr doctor exits 1 naming the destination key policy"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the script's output lacks %q", want)
		}
	}
}
