# Sourced by the scripts that drive the local stand-ins with the AWS CLI
# (awscli-smoke.sh, handmade-doctor.sh): sets AWS to the CLI to use, preferring v2 and
# installing Debian's awscli (v2) when none is found and it runs as root with apt-get; exits
# 77 (skip; the Go tests fail on it under CI=true) when there is none and cannot be one.

aws_v2() {
	local c
	for c in "${AWS_CLI:-}" /usr/bin/aws /usr/local/bin/aws "$(command -v aws || true)"; do
		if [ -n "$c" ] && [ -x "$c" ] && "$c" --version 2>&1 | grep -q '^aws-cli/2\.'; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

if ! AWS=$(aws_v2); then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "no AWS CLI v2 found: installing Debian's awscli" >&2
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli) >&2 || true
	fi
	if ! AWS=$(aws_v2); then
		if AWS=$(command -v aws); then
			echo "note: AWS CLI v2 unobtainable, using $("$AWS" --version 2>&1)" >&2
		else
			echo "SKIP: no AWS CLI, and it cannot be installed here (needs root and apt-get with a reachable Debian mirror)" >&2
			exit 77
		fi
	fi
fi
echo "using $("$AWS" --version 2>&1) at $AWS"
