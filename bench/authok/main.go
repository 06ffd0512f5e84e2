// Command authok is the stand-in auth endpoint for the forward_auth
// scenario of bench/run: it answers every request 200, as fast as it can,
// so the scenario measures the cost of the extra hop and nothing else.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:9199", "address to listen on")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-User", "bench")
		w.WriteHeader(http.StatusOK)
	})))
}
