package verify

import (
	"context"
	"fmt"

	"github.com/s3crr/s3crr/internal/spec"
)

// Run opens read sessions in the pair's two accounts and regions, reads the pair and
// judges it: what `crr doctor` and the verify Lambda call.
func Run(ctx context.Context, req spec.Request, c Connector) (Report, error) {
	src, err := c.Connect(ctx, req.Source.Account, req.Source.Region)
	if err != nil {
		return Report{}, fmt.Errorf("connect to source account %s: %w", req.Source.Account, err)
	}
	dst, err := c.Connect(ctx, req.Destination.Account, req.Destination.Region)
	if err != nil {
		return Report{}, fmt.Errorf("connect to destination account %s: %w", req.Destination.Account, err)
	}
	snap, err := Read(ctx, req, src, dst)
	if err != nil {
		return Report{}, err
	}
	return Check(snap), nil
}
