package lease

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/sivchari/kumo"

	"github.com/s3crr/s3crr/internal/names"
)

// clock is a settable clock shared by a store and its test.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(c.now.Load(), 0) }
func (c *clock) advance(d time.Duration) { c.now.Add(int64(d / time.Second)) }

// kumoTable creates a lease table as HubStack does (key, on-demand) in an in-process
// kumo, under a name of this test's (kumo's state is shared by the process).
func kumoTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("000000000000", "x", ""), BaseEndpoint: aws.String(srv.URL)}
	db := dynamodb.NewFromConfig(cfg)
	table := strings.NewReplacer("/", "-").Replace(t.Name()) + "-leases"
	_, err := db.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(names.LeaseTableKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(names.LeaseTableKey), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", table, err)
	}
	return db, table
}

// stores runs f against both implementations, each with its own clock: the in-memory one
// must keep the DynamoDB one's semantics, since the in-process runs rely on it.
func stores(t *testing.T, f func(t *testing.T, s Store, c *clock)) {
	t.Run("memory", func(t *testing.T) {
		c := &clock{}
		c.now.Store(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC).Unix())
		f(t, &Memory{Now: c.Now}, c)
	})
	t.Run("dynamodb-on-kumo", func(t *testing.T) {
		c := &clock{}
		c.now.Store(time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC).Unix())
		db, table := kumoTable(t)
		f(t, DynamoDB{DB: db, Table: table, Now: c.Now}, c)
	})
}

func held(t *testing.T, err error, resource string) {
	t.Helper()
	var h *Held
	if !errors.As(err, &h) {
		t.Fatalf("Acquire = %v, want *Held", err)
	}
	if h.Resource != resource {
		t.Errorf("Held.Resource = %q, want %q", h.Resource, resource)
	}
}

func TestLeaseSemantics(t *testing.T) {
	stores(t, func(t *testing.T, s Store, c *clock) {
		ctx := context.Background()
		doc := S3Document("central-backup", "policy")
		a := Lease{Resource: doc, Owner: NewOwner("pair-a bucketPolicy(destination)"), Expires: c.Now().Add(2 * time.Minute)}
		b := Lease{Resource: doc, Owner: NewOwner("pair-b bucketPolicy(destination)"), Expires: c.Now().Add(2 * time.Minute)}
		if err := s.Acquire(ctx, a); err != nil {
			t.Fatalf("first Acquire: %v", err)
		}
		held(t, s.Acquire(ctx, b), doc)
		// Another document is independent.
		if err := s.Acquire(ctx, Lease{Resource: KeyPolicy("arn:aws:kms:us-east-1:222222222222:key/k"), Owner: b.Owner, Expires: b.Expires}); err != nil {
			t.Fatalf("Acquire of another document: %v", err)
		}
		// The holder retrying its own Acquire (a lost response) renews, not fails.
		if err := s.Acquire(ctx, a); err != nil {
			t.Fatalf("the holder's second Acquire: %v", err)
		}
		// Only the holder releases.
		if err := s.Release(ctx, b); err != nil {
			t.Fatalf("Release by a non-holder: %v", err)
		}
		held(t, s.Acquire(ctx, b), doc)
		if err := s.Release(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.Acquire(ctx, b); err != nil {
			t.Fatalf("Acquire after the holder released: %v", err)
		}
	})
}

func TestCrashedHolderExpires(t *testing.T) {
	stores(t, func(t *testing.T, s Store, c *clock) {
		ctx := context.Background()
		doc := KeyPolicy("arn:aws:kms:us-east-1:222222222222:key/1111")
		crashed := Lease{Resource: doc, Owner: NewOwner("pair-a keyPolicy(destination)"), Expires: c.Now().Add(time.Minute)}
		if err := s.Acquire(ctx, crashed); err != nil {
			t.Fatal(err)
		}
		// The holder dies without releasing. Until its lease ends, others are refused...
		next := Lease{Resource: doc, Owner: NewOwner("pair-b keyPolicy(destination)")}
		c.advance(time.Minute)
		next.Expires = c.Now().Add(time.Minute)
		held(t, s.Acquire(ctx, next), doc)
		// ...and from the second after, the next run proceeds.
		c.advance(time.Second)
		next.Expires = c.Now().Add(time.Minute)
		if err := s.Acquire(ctx, next); err != nil {
			t.Fatalf("Acquire after the crashed holder's lease expired: %v", err)
		}
		// The late holder coming back cannot release the new holder's lease.
		if err := s.Release(ctx, crashed); err != nil {
			t.Fatal(err)
		}
		third := Lease{Resource: doc, Owner: NewOwner("pair-c"), Expires: c.Now().Add(time.Minute)}
		held(t, s.Acquire(ctx, third), doc)
	})
}

func TestOneOfManyConcurrentAcquiresWins(t *testing.T) {
	stores(t, func(t *testing.T, s Store, c *clock) {
		doc := S3Document("central-backup", "replication")
		var wg sync.WaitGroup
		var won, busy atomic.Int32
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Acquire(context.Background(), Lease{Resource: doc, Owner: NewOwner("pair-" + string(rune('a'+i))), Expires: c.Now().Add(time.Minute)})
				var h *Held
				switch {
				case err == nil:
					won.Add(1)
				case errors.As(err, &h):
					busy.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 || busy.Load() != 15 {
			t.Errorf("%d acquired and %d were refused, want 1 and 15", won.Load(), busy.Load())
		}
	})
}

func TestKeysStayUnderTheGrantedPrefixes(t *testing.T) {
	for _, k := range []string{S3Document("b", "policy"), KeyPolicy("arn:aws:kms:r:1:key/k"), RolePolicy("arn:aws:iam::1:role/s3crr/r", names.ReplicationPolicyName)} {
		ok := false
		for _, p := range names.LeaseKeyPrefixes {
			ok = ok || strings.HasPrefix(k, p)
		}
		if !ok {
			t.Errorf("lease key %q is outside names.LeaseKeyPrefixes %v, which the provision Lambda's grant is limited to", k, names.LeaseKeyPrefixes)
		}
	}
}
