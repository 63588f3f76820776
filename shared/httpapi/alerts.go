package httpapi

// alertRoutes registers the PIM alert endpoints (filled in by the alerts work).
func (s *Server) alertRoutes() {}
