//go:build race

package sessionauth

// raceDetector tells the tests they run under -race, where bcrypt is some
// twenty times slower.
const raceDetector = true
