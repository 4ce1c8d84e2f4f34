package console

// Policy is who may call a route.
type Policy int

const (
	Public   Policy = iota // anyone (login)
	Enrol                  // password checked, TOTP not yet enrolled
	Signed                 // a signed-in account, any role
	Unlocked               // signed in with desk keys unlocked
	Lead                   // signed in as lead (or admin) with desk keys unlocked
	Admin                  // signed in as admin
)

func (p Policy) String() string {
	return [...]string{"public", "enrol", "signed", "unlocked", "lead", "admin"}[p]
}

// Route is one console route and its policy.
type Route struct {
	Pattern string
	Policy  Policy
}

// Routes lists every console route with its policy; Register serves
// exactly these, so a route cannot exist without a policy.
var Routes = []Route{
	{"GET /moderate/login", Public},
	{"POST /moderate/login", Public},
	{"GET /moderate/static/", Public},
	{"GET /moderate/enrol", Enrol},
	{"GET /moderate/enrol/qr.png", Enrol},
	{"POST /moderate/enrol", Enrol},
	{"GET /moderate/{$}", Signed},
	{"POST /moderate/logout", Signed},
	{"GET /moderate/unlock", Signed},
	{"POST /moderate/unlock", Signed},
	{"GET /moderate/queue", Unlocked},
	{"GET /moderate/report/{id}", Unlocked},
	{"GET /moderate/report/{id}/attachment/{seq}", Unlocked},
	{"POST /moderate/report/{id}/redact", Unlocked},
	{"POST /moderate/report/{id}/tags", Unlocked},
	{"POST /moderate/report/{id}/facets", Unlocked},
	{"POST /moderate/report/{id}/state", Unlocked},
	{"POST /moderate/report/{id}/note", Unlocked},
	{"POST /moderate/report/{id}/assign", Lead},
	{"POST /moderate/report/{id}/forward", Lead},
	{"GET /moderate/dossiers", Lead},
	{"POST /moderate/dossiers", Lead},
	{"POST /moderate/dossiers/{name}/export", Lead},
	{"GET /moderate/audit", Admin},
	{"POST /moderate/accounts/{login}/disable", Admin},
}
