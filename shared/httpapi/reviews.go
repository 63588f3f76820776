package httpapi

// reviewRoutes registers the access review endpoints (filled in by the reviews work).
func (s *Server) reviewRoutes() {}
