package router

// The accept router: accepts every address that passes its
// preconditions. Exim specification chapter "The accept router".

type acceptDriver struct{}

func (acceptDriver) route(c *call) Result {
	c.debugf("%s router called for %s\n  domain = %s", c.r.Name, c.addr.Address, c.addr.Domain)
	t, r := c.transport()
	if r != nil {
		return *r
	}
	c.debugf("queued for %s transport: local_part = %s\ndomain = %s\n  errors_to=%s\n  domain_data=%s local_part_data=%s",
		t, c.addr.LocalPart, c.addr.Domain, nullable(c.addr.ErrorsTo), nullable(c.addr.DomainData), nullable(c.addr.LocalPartData))
	return Result{Status: Accept, Transport: t}
}

func nullable(s string) string {
	if s == "" {
		return "NULL"
	}
	return s
}
