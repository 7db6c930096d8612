// Package router implements Exim's routers: the generic router options and
// their precondition order, and the accept, redirect, manualroute,
// dnslookup, ipliteral and queryprogram drivers.
//
// # How the rest of exigo uses it
//
// A Set is built once per configuration (New). Delivery, verification and
// the -bt/-bv test modes call Set.Route for one address at a time. Route
// runs the routers in configuration order (starting where the address says,
// see Address.StartAt), checks each router's preconditions in Exim's
// documented order, runs the driver, and returns one Result:
//
//   - Accept: the address is assigned to Result.Transport (and, for remote
//     transports, Result.Hosts). Addresses generated as pipes, files or
//     directories are also returned as Accept, with Address.Kind set.
//   - Redirect: Result.Children must each be routed in turn (delivery feeds
//     them back to Route; Address.Parent links them to this address).
//   - Discard: nothing is to be delivered (":blackhole:").
//   - Fail: the address is undeliverable; Result.Message says why.
//   - Defer: routing must be tried again later; Result.Message says why.
//
// When the router that decided had "unseen" set, Result.Unseen is a copy
// of the address to be routed as well, starting at the next router.
//
// Route never delivers and never writes logs; it is safe to call from
// several goroutines for different addresses.
//
// Exim specification: chapters "Generic options for routers" and "How
// Exim receives and delivers mail" (sections "Running an individual
// router" and "Router preconditions"), and one chapter per driver.
package router
