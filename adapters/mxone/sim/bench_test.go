package sim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pbxbatch/pbxbatch/schemas"
)

// bigSeed is a rollout-sized inventory: n users, each with one extension.
func bigSeed(n int) *Seed {
	s := &Seed{}
	s.Add("location", schemas.Record{"locationName": "Stockholm"})
	s.Add("subsystem", schemas.Record{"subsystemName": "MX1", "subsystemType": "TelephonyServer", "location": "Stockholm",
		"numberSeries": []any{"EX:100000-199999"}})
	s.Add("department", schemas.Record{"departmentName": "Sales", "location": "Stockholm"})
	for i := range n {
		num := fmt.Sprint(100000 + i)
		s.Add("extension", schemas.Record{"extensionNumber": num, "subsystemName": "MX1", "extensionType": "ip", "owner": "u" + num})
		s.Add("user", schemas.Record{"userId": "u" + num, "firstName": "F" + num, "lastName": "L", "departments": []any{"Sales"}})
	}
	return s
}

func benchSim(b *testing.B, seed *Seed) (*Sim, string) {
	s, err := New(Options{Seed: seed})
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/auth/login", strings.NewReader(`{"username":"admin","password":"admin"}`))
	s.ServeHTTP(rec, req)
	var tok struct{ Token string }
	if err := jsonDecode(rec.Body.Bytes(), &tok); err != nil || tok.Token == "" {
		b.Fatalf("login: %s", rec.Body)
	}
	return s, "Bearer " + tok.Token
}

func serve(b *testing.B, h http.Handler, auth, method, path, body string, want int) {
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}

// BenchmarkSearchUserByExtension is the adapter's owner lookup (GET users
// ?search=<number>) against 10,000 users.
func BenchmarkSearchUserByExtension(b *testing.B) {
	s, auth := benchSim(b, bigSeed(10000))
	b.ResetTimer()
	for i := range b.N {
		serve(b, s, auth, "GET", fmt.Sprintf("/user-ms/user/v1?search=%d&pageno=0&pageSize=200", 100000+i%10000), "", 200)
	}
}

// BenchmarkCreateExtensionAndUser is the write path of a rollout, run from
// parallel clients as the runner does.
func BenchmarkCreateExtensionAndUser(b *testing.B) {
	s, auth := benchSim(b, bigSeed(0))
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			num := 100000 + next.Add(1)
			serve(b, s, auth, "POST", "/pm-extension-ms/pm-extension/v1/ip?subsystemName=MX1", fmt.Sprintf(`{"extensionNumber":"%d"}`, num), 200)
			serve(b, s, auth, "POST", "/user-ms/user/v1", fmt.Sprintf(`{"userId":"u%d","departmentIds":[1],"extensions":[{"extensionNumber":"%d","subsystemName":"MX1"}]}`, num, num), 201)
			serve(b, s, auth, "GET", fmt.Sprintf("/user-ms/user/by-user-id/v1/u%d", num), "", 200)
		}
	})
}
