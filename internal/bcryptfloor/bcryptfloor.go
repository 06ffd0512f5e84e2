// Package bcryptfloor holds the lowest bcrypt cost the plugin accepts, as a
// variable for one reason: tests whose subject is not bcrypt's cost lower it
// in their TestMain, so that a hash under -race takes milliseconds instead
// of seconds. Nothing else changes it: in a build of Caddy it is always
// users.MinBcryptCost. The tests of the cost itself (rule 5, rehashing, the
// config's limits) set it back for their own run (see the root package's
// realBcrypt).
package bcryptfloor

// Cost is the lowest cost users.Hash, users.DummyHash and the config accept.
var Cost = 10
