package localhub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sivchari/kumo"
)

// kumoPortEnv is read by kumo's service init functions: it is where kumo sends
// the calls it makes to itself (EventBridge delivering to a Lambda or SQS
// target, for one). It must be set before the process starts, because those
// init functions run before main.
const kumoPortEnv = "KUMO_PORT"

// EnsureKumoPort makes kumo's self-calls reach this process. If KUMO_PORT is
// not set it picks a free loopback port, sets KUMO_PORT and re-executes the
// program in place (same pid, arguments and environment otherwise), so that
// kumo's init functions see it; the hub then listens on that port. Call it
// first thing in main or TestMain; it returns only when KUMO_PORT was already
// set or the re-exec failed. Without it the hub still works, but kumo's
// self-calls go to localhost:4566, which is not this hub.
func EnsureKumoPort() error { return EnsureKumoPortAt(0) }

// EnsureKumoPortAt is EnsureKumoPort with the hub's port chosen: `crr local up
// --port` serves the hub on a port the user knows. Port 0 picks a free one. A
// port already in use is reported before the re-exec, naming it.
func EnsureKumoPortAt(port int) error {
	if os.Getenv(kumoPortEnv) != "" {
		return nil
	}
	if port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		port = p
	} else if err := CheckPortFree(port); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	env := append(os.Environ(), kumoPortEnv+"="+strconv.Itoa(port))
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("re-exec with %s=%d: %w", kumoPortEnv, port, err)
	}
	return nil // not reached
}

// ErrPortInUse marks a loopback port another process (often an earlier `crr
// local up`) listens on.
var ErrPortInUse = errors.New("port in use")

// CheckPortFree reports, with ErrPortInUse, whether port is taken on 127.0.0.1.
func CheckPortFree(port int) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("127.0.0.1:%d: %w", port, ErrPortInUse)
		}
		return fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	return l.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// front is the hub's one HTTP endpoint: a reverse proxy in front of kumo. kumo
// can only be started on a random port (kumo.NewServer), so the proxy is what
// listens on KUMO_PORT; it also lets the hub see what kumo cannot tell it:
// when a Lambda process has started polling the Runtime API (before that, an
// Invoke fails), and how many times each function was invoked.
type front struct {
	url       string
	selfCalls bool // listening on KUMO_PORT, so kumo's self-calls arrive here

	mu          sync.Mutex
	sfn         http.Handler  // the Step Functions API, once a hub serves one
	changed     chan struct{} // closed and replaced on every poll
	polls       map[string]int
	invocations map[string]int
}

var (
	frontOnce sync.Once
	theFront  *front
	frontErr  error
)

// sharedFront starts kumo and its proxy once per process: kumo keeps its state
// in package variables, so two kumo servers in one process would share it anyway.
func sharedFront() (*front, error) {
	frontOnce.Do(func() { theFront, frontErr = startFront() })
	return theFront, frontErr
}

func startFront() (*front, error) {
	addr := "127.0.0.1:0"
	selfCalls := false
	if p := os.Getenv(kumoPortEnv); p != "" {
		if _, err := strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("%s=%q is not a port", kumoPortEnv, p)
		}
		addr, selfCalls = "127.0.0.1:"+p, true
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for kumo on %s: %w", addr, err)
	}
	srv := kumo.NewServer() // lives as long as the process, like kumo's state
	target, err := url.Parse(srv.URL)
	if err != nil {
		return nil, fmt.Errorf("parse kumo URL %q: %w", srv.URL, err)
	}
	f := &front{
		url:         "http://" + ln.Addr().String(),
		selfCalls:   selfCalls,
		changed:     make(chan struct{}),
		polls:       map[string]int{},
		invocations: map[string]int{},
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // cancelled long polls are routine
	proxy.ModifyResponse = func(r *http.Response) error {
		// kumo's DynamoDB sends an X-Amz-Crc32 that does not match its body, so every
		// SDK warns on each call; DynamoDB's checksum header is optional, so drop it.
		r.Header.Del("X-Amz-Crc32")
		return nil
	}
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		// A Lambda process killed mid-poll cancels its request; nothing to report.
		if !errors.Is(err, context.Canceled) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.") {
				// kumo's own engine cannot run s3crr's state machines (see
				// localhub/README.md): Step Functions calls go to the hub's API.
				f.mu.Lock()
				h := f.sfn
				f.mu.Unlock()
				if h != nil {
					h.ServeHTTP(w, r)
					return
				}
			}
			f.observe(r)
			proxy.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = hs.Serve(ln) }() // serves until the process exits
	return f, nil
}

// observe counts Runtime API polls (/_runtime/<fn>/.../invocation/next) and
// Invoke calls (/2015-03-31/functions/<fn>/invocations) per function name.
func (f *front) observe(r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 5 && parts[0] == "_runtime" && parts[len(parts)-1] == "next":
		f.mu.Lock()
		f.polls[parts[1]]++
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	case len(parts) == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "invocations" && r.Method == http.MethodPost:
		name, err := url.PathUnescape(parts[2])
		if err != nil {
			name = parts[2]
		}
		if i := strings.LastIndex(name, ":function:"); i >= 0 {
			name = name[i+len(":function:"):]
		}
		if i := strings.Index(name, ":"); i >= 0 {
			name = name[:i] // drop a version or alias qualifier
		}
		f.mu.Lock()
		f.invocations[name]++
		f.mu.Unlock()
	}
}

// waitPolls waits until fn has polled at least n times in all.
func (f *front) waitPolls(ctx context.Context, fn string, n int) error {
	for {
		f.mu.Lock()
		got, ch := f.polls[fn], f.changed
		f.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to poll the Runtime API (%d of %d polls): %w", fn, got, n, ctx.Err())
		}
	}
}

func (f *front) pollCount(fn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls[fn]
}

func (f *front) invocationCount(fn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.invocations[fn]
}
