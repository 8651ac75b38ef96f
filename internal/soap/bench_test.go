package soap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"testing"
)

// BenchmarkDecodeFindUsers decodes a findUser response listing 1,000 users,
// the largest page sipXconfig's fuzzy search returns.
func BenchmarkDecodeFindUsers(b *testing.B) {
	users := make([]testUser, 1000)
	for i := range users {
		users[i] = testUser{UserName: fmt.Sprint(2000 + i), LastName: &Nil{Value: "Berg"}, FirstName: "Anna", Permissions: []string{"Voicemail", "LocalDialing"}}
	}
	var env bytes.Buffer
	if err := EncodeResponse(&env, testNS, "FindUserResponse", testFindUserResponse{Users: Array[testUser]{Items: users}}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(env.Len()))
	for b.Loop() {
		var out testFindUserResponse
		if _, err := ReadEnvelope(bytes.NewReader(env.Bytes()), 0, func(d *xml.Decoder, s *xml.StartElement) error { return d.DecodeElement(&out, s) }); err != nil {
			b.Fatal(err)
		}
		if len(out.Users.Items) != 1000 {
			b.Fatal(len(out.Users.Items))
		}
	}
}
