// Package e2e holds the dashboard's browser test: dashboard.test.mjs drives Debian's
// Chromium with playwright-core against the real octostore-lock binary and a stand-in
// GitHub, which e2e_test.go starts. Run it with `make test-e2e`; screenshots land in
// screenshots/ (ignored by git).
package e2e
