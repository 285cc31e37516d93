package main

import (
	"context"
	"encoding/json"
	"errors"

	octostore "github.com/octostore/octostore/sdk/go"
)

// watch prints every change of the locks under a prefix as JSON lines, one lock status
// per line in the order the server reports them, following the index so that no change
// is missed, until interrupted. By default it starts from now; --index 0 first prints
// every lock the server knows under the prefix.
func (e env) watch(ctx context.Context, args []string) int {
	fs := newFlagSet(e, "watch", "<prefix> [--index N]")
	from := fs.Int64("index", -1, "the index to watch from (default: now; 0: everything known)")
	pos, err := subFlags(fs, args)
	if err != nil || len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	prefix, index := pos[0], *from
	if index < 0 {
		if index, err = octostore.PrefixIndex(ctx, e.client, prefix); err != nil {
			if ctx.Err() != nil {
				return exitOK
			}
			return e.failed("watch", err, 0, nil)
		}
	}
	enc := json.NewEncoder(e.stdout)
	err = octostore.WatchPrefix(ctx, e.client, prefix, index, func(pc octostore.PrefixChanges) error {
		for _, c := range pc.Changes {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return exitOK // interrupted
	}
	return e.failed("watch", err, 0, nil)
}
