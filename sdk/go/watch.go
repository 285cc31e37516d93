package octostore

import (
	"context"
	"fmt"
)

// PrefixChanges is one answer of a prefix watch: the locks under the prefix that changed
// past the index sent, by name (a released or expired one has Status free), and the
// index to watch from next. When Complete is false the server no longer remembered every
// lock freed since that index: Changes then holds every held lock under the prefix, and
// any other lock the caller knew of is free.
type PrefixChanges struct {
	Index    int64
	Changes  []LockStatus
	Complete bool
}

// PrefixIndex returns the index to watch a prefix from: every change under it so far is
// at or below it.
func PrefixIndex(ctx context.Context, c *ClientWithResponses, prefix string) (int64, error) {
	limit := int32(1)
	res, err := c.ListLocksWithResponse(ctx, &ListLocksParams{Prefix: &prefix, Limit: &limit})
	if err == nil && res.JSON200 == nil {
		err = problemFrom(res.HTTPResponse, res.Body)
	}
	if err != nil {
		return 0, err
	}
	if res.JSON200.Index == nil {
		return 0, fmt.Errorf("octostore: prefix list without index")
	}
	return *res.JSON200.Index, nil
}

// WatchPrefix follows every change of the locks under prefix after index, in order,
// calling fn with each answer that carries changes, until ctx ends (it returns ctx's
// error) or fn returns an error (it returns that). Index 0 starts with every lock the
// server knows under the prefix; PrefixIndex gives the current index, to see only what
// changes from now on. Coming back with each answer's index, it misses no change; a lock
// that changed several times between two answers is reported once, as it is now. 429
// and 503 answers are waited out.
func WatchPrefix(ctx context.Context, c *ClientWithResponses, prefix string, index int64, fn func(PrefixChanges) error) error {
	wait := int32(60)
	for {
		idx := index
		res, err := c.ListLocksWithResponse(ctx, &ListLocksParams{Prefix: &prefix, Index: &idx, WaitSeconds: &wait})
		if err == nil && res.JSON200 == nil {
			err = problemFrom(res.HTTPResponse, res.Body)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d, ok := retryable(err); ok {
				if err := sleep(ctx, d); err != nil {
					return err
				}
				continue
			}
			return err
		}
		r := res.JSON200
		if r.Index == nil {
			return fmt.Errorf("octostore: prefix watch answer without index")
		}
		pc := PrefixChanges{Index: *r.Index, Complete: r.Complete == nil || *r.Complete}
		if r.Changes != nil {
			pc.Changes = *r.Changes
		}
		if len(pc.Changes) > 0 || !pc.Complete {
			if err := fn(pc); err != nil {
				return err
			}
		}
		index = max(index, pc.Index)
	}
}
