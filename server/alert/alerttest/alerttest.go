// Package alerttest has what tests of alerts need: a small SMTP server on
// loopback that speaks enough ESMTP for a real client (EHLO, STARTTLS,
// AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps what
// it receives, and a test certificate authority for its TLS. It is not
// linked into the server binary.
package alerttest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	gosync "sync"
	"time"
)

// CA is a throwaway certificate authority for tests.
type CA struct {
	Pool *x509.CertPool // trusts the CA: give it to clients
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA valid for a day either side of now (the wall clock:
// TLS checks validity with it).
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Lintel test CA"},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Pool: pool, cert: cert, key: key}, nil
}

// Leaf makes a server certificate for hosts (names or IP addresses).
func (ca *CA) Leaf(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Mail is one message the server accepted.
type Mail struct {
	From     string
	To       []string
	Data     string // headers and body as sent, dot-unstuffed
	TLS      bool   // it came over TLS
	AuthUser string // who authenticated, if anyone
}

// SMTPOpts configure an SMTPServer.
type SMTPOpts struct {
	Cert tls.Certificate // required: offered by STARTTLS (or from the start)
	// Username and Password, when set, make AUTH required before MAIL.
	Username, Password string
	// ImplicitTLS speaks TLS from the first byte (port 465 style).
	ImplicitTLS bool
	// NoSTARTTLS leaves STARTTLS out of EHLO, like a relay without TLS.
	NoSTARTTLS bool
}

// SMTPServer is an SMTP server on 127.0.0.1.
type SMTPServer struct {
	Addr string // host:port
	opts SMTPOpts
	ln   net.Listener
	tls  *tls.Config
	wg   gosync.WaitGroup

	mu       gosync.Mutex
	mails    []Mail
	sessions int
	conns    map[net.Conn]bool
}

// maxData bounds one message.
const maxData = 1 << 20

// NewSMTPServer listens on a free loopback port.
func NewSMTPServer(opts SMTPOpts) (*SMTPServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &SMTPServer{Addr: ln.Addr().String(), opts: opts, ln: ln, conns: map[net.Conn]bool{},
		tls: &tls.Config{Certificates: []tls.Certificate{opts.Cert}, MinVersion: tls.VersionTLS12}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Mails returns what was received so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Sessions counts the connections the server took.
func (s *SMTPServer) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Close stops the server and its connections.
func (s *SMTPServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *SMTPServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.sessions++
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// session is one connection's state.
type session struct {
	conn     net.Conn
	r        *bufio.Reader
	tls      bool
	authUser string
	from     string
	to       []string
}

func (ss *session) reply(format string, args ...any) {
	ss.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(ss.conn, format+"\r\n", args...)
}

func (ss *session) line() (string, error) {
	ss.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	l, err := ss.r.ReadString('\n')
	if len(l) > 4096 {
		return "", errors.New("line too long")
	}
	return strings.TrimRight(l, "\r\n"), err
}

func (s *SMTPServer) serve(c net.Conn) {
	defer c.Close()
	ss := &session{conn: c, r: bufio.NewReader(c)}
	if s.opts.ImplicitTLS {
		tc := tls.Server(c, s.tls)
		if err := tc.Handshake(); err != nil {
			return
		}
		ss.conn, ss.r, ss.tls = tc, bufio.NewReader(tc), true
	}
	ss.reply("220 lintel-test ESMTP ready")
	for {
		l, err := ss.line()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(l, " ")
		switch strings.ToUpper(verb) {
		case "HELO":
			ss.reply("250 lintel-test")
		case "EHLO":
			ext := []string{"lintel-test", "8BITMIME", fmt.Sprintf("SIZE %d", maxData)}
			if !ss.tls && !s.opts.NoSTARTTLS {
				ext = append(ext, "STARTTLS")
			}
			if ss.tls {
				ext = append(ext, "AUTH PLAIN LOGIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				ss.reply("250%s%s", sep, e)
			}
		case "STARTTLS":
			if ss.tls || s.opts.NoSTARTTLS {
				ss.reply("503 TLS not available")
				continue
			}
			ss.reply("220 go ahead")
			tc := tls.Server(ss.conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			// RFC 3207: forget everything said before TLS.
			*ss = session{conn: tc, r: bufio.NewReader(tc), tls: true}
		case "AUTH":
			s.auth(ss, arg)
		case "MAIL":
			switch {
			case !ss.tls:
				ss.reply("530 Must issue a STARTTLS command first")
			case s.opts.Username != "" && ss.authUser == "":
				ss.reply("530 Authentication required")
			default:
				ss.from, ss.to = addr(arg), nil
				ss.reply("250 OK")
			}
		case "RCPT":
			if ss.from == "" {
				ss.reply("503 MAIL first")
				continue
			}
			ss.to = append(ss.to, addr(arg))
			ss.reply("250 OK")
		case "DATA":
			if ss.from == "" || len(ss.to) == 0 {
				ss.reply("503 MAIL and RCPT first")
				continue
			}
			ss.reply("354 End data with <CR><LF>.<CR><LF>")
			data, err := s.data(ss)
			if err != nil {
				ss.reply("552 %v", err)
				return
			}
			s.mu.Lock()
			s.mails = append(s.mails, Mail{From: ss.from, To: ss.to, Data: data, TLS: ss.tls, AuthUser: ss.authUser})
			s.mu.Unlock()
			ss.from, ss.to = "", nil
			ss.reply("250 OK: queued")
		case "RSET":
			ss.from, ss.to = "", nil
			ss.reply("250 OK")
		case "NOOP":
			ss.reply("250 OK")
		case "QUIT":
			ss.reply("221 Bye")
			return
		default:
			ss.reply("502 Command not implemented")
		}
	}
}

// auth handles AUTH PLAIN (with or without an initial response) and AUTH
// LOGIN, over TLS only.
func (s *SMTPServer) auth(ss *session, arg string) {
	if !ss.tls {
		ss.reply("538 Encryption required for requested authentication mechanism")
		return
	}
	mech, initial, _ := strings.Cut(arg, " ")
	var user, pass string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if initial == "" {
			ss.reply("334 ")
			l, err := ss.line()
			if err != nil {
				return
			}
			initial = l
		}
		b, err := base64.StdEncoding.DecodeString(initial)
		parts := strings.Split(string(b), "\x00")
		if err != nil || len(parts) != 3 {
			ss.reply("501 Malformed PLAIN response")
			return
		}
		user, pass = parts[1], parts[2]
	case "LOGIN":
		ask := func(prompt string) (string, bool) {
			ss.reply("334 %s", base64.StdEncoding.EncodeToString([]byte(prompt)))
			l, err := ss.line()
			if err != nil {
				return "", false
			}
			b, err := base64.StdEncoding.DecodeString(l)
			return string(b), err == nil
		}
		var ok bool
		if user, ok = ask("Username:"); !ok {
			ss.reply("501 Malformed LOGIN response")
			return
		}
		if pass, ok = ask("Password:"); !ok {
			ss.reply("501 Malformed LOGIN response")
			return
		}
	default:
		ss.reply("504 Unrecognized authentication type")
		return
	}
	if user != s.opts.Username || pass != s.opts.Password || s.opts.Username == "" {
		ss.reply("535 Authentication credentials invalid")
		return
	}
	ss.authUser = user
	ss.reply("235 Authentication successful")
}

// data reads a message up to the lone dot, undoing dot-stuffing.
func (s *SMTPServer) data(ss *session) (string, error) {
	var b strings.Builder
	for {
		l, err := ss.line()
		if err != nil {
			return "", err
		}
		if l == "." {
			return b.String(), nil
		}
		l = strings.TrimPrefix(l, ".")
		if b.Len()+len(l) > maxData {
			return "", errors.New("message too large")
		}
		b.WriteString(l + "\n")
	}
}

// addr takes the address out of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func addr(arg string) string {
	_, rest, _ := strings.Cut(arg, ":")
	rest = strings.TrimSpace(rest)
	if i := strings.IndexByte(rest, '>'); strings.HasPrefix(rest, "<") && i > 0 {
		return rest[1:i]
	}
	a, _, _ := strings.Cut(rest, " ")
	return a
}
