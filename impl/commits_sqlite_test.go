package impl_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/octostore/octostore/impl"
	"github.com/octostore/octostore/impl/commitstest"
	"github.com/octostore/octostore/impl/store"
)

func TestSQLiteCommitsConform(t *testing.T) {
	commitstest.Run(t, func(t *testing.T) commitstest.Seam {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "octostore.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return commitstest.Seam{
			Commits:  impl.NewSQLiteCommits(st),
			Fail:     func() { st.Degrade(errors.New("disk full (injected)")) },
			Recovers: true,
		}
	})
}
