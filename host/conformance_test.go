package host_test

import (
	"testing"

	"github.com/idsync/idsync/host/hosttest"
	"github.com/idsync/idsync/scim/scimtest"
)

// TestSpec11_Conformance runs the SCIM conformance suite against the
// connector host over an inmem connected system.
func TestSpec11_Conformance(t *testing.T) {
	env := hosttest.Start(t)
	scimtest.Run(t, scimtest.Target{URL: env.URL, Token: env.Token})
}
