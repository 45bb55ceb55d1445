package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// passwordError maps a refused password to the connector's sentinels.
func (c *conn) passwordError(op, dn string, err error) error {
	var le *goldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case goldap.LDAPResultConstraintViolation, goldap.LDAPResultUnwillingToPerform:
			return fmt.Errorf("ldap: %s %s: %w: %s", op, dn, connector.ErrPasswordPolicyViolation, strings.TrimSpace(le.Err.Error()))
		case goldap.LDAPResultInvalidAttributeSyntax:
			return fmt.Errorf("ldap: %s %s: %w", op, dn, connector.ErrPasswordIllFormed)
		}
	}
	return c.classify(op+" "+dn, err)
}

func (c *conn) passwordDN(anchor idsync.Anchor, dn string) (string, error) {
	return c.currentDN(idsync.Change{Anchor: anchor, DN: dn})
}

// SetPassword implements connector.PasswordChanger. On Active Directory
// it replaces unicodePwd (only over TLS), and with UnlockAccount clears
// lockoutTime, with ForceChangeAtLogOn sets pwdLastSet to 0. Elsewhere it
// uses the Password Modify extended operation (RFC 3062).
func (c *conn) SetPassword(ctx context.Context, anchor idsync.Anchor, dn string, password connector.Secret, opts connector.PasswordOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.requireTLSForPassword(); err != nil {
		return err
	}
	dn, err := c.passwordDN(anchor, dn)
	if err != nil {
		return err
	}
	if c.cfg.isAD() {
		req := goldap.NewModifyRequest(dn, nil)
		req.Replace("unicodePwd", []string{encodeUnicodePwd(password.Reveal())})
		if opts.ForceChangeAtLogOn {
			req.Replace("pwdLastSet", []string{"0"})
		}
		if opts.UnlockAccount {
			req.Replace("lockoutTime", []string{"0"})
		}
		if err := c.l.Modify(req); err != nil {
			return c.passwordError("set password of", dn, err)
		}
		return nil
	}
	if _, err := c.l.PasswordModify(goldap.NewPasswordModifyRequest(dn, "", password.Reveal())); err != nil {
		return c.passwordError("set password of", dn, err)
	}
	return nil
}

// ChangePassword implements connector.PasswordChanger: the old password
// must be right. On Active Directory one modify deletes the old
// unicodePwd and adds the new one; elsewhere the user binds with the old
// password on a second connection and changes it with Password Modify.
func (c *conn) ChangePassword(ctx context.Context, anchor idsync.Anchor, dn string, oldPassword, newPassword connector.Secret) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.requireTLSForPassword(); err != nil {
		return err
	}
	dn, err := c.passwordDN(anchor, dn)
	if err != nil {
		return err
	}
	if c.cfg.isAD() {
		req := goldap.NewModifyRequest(dn, nil)
		req.Delete("unicodePwd", []string{encodeUnicodePwd(oldPassword.Reveal())})
		req.Add("unicodePwd", []string{encodeUnicodePwd(newPassword.Reveal())})
		if err := c.l.Modify(req); err != nil {
			return c.passwordError("change password of", dn, err)
		}
		return nil
	}
	user := &conn{cfg: c.cfg, env: c.env, log: c.log}
	user.cfg.BindDN = dn
	user.cfg.SASLExternal = false
	secret := oldPassword.Reveal()
	user.env.Secret = func(string) (string, error) { return secret, nil }
	user.cfg.Password = connector.SecretRef{Env: "old-password"}
	if err := user.connect(ctx); err != nil {
		return fmt.Errorf("ldap: change password of %s: the old password is refused: %w", dn, err)
	}
	defer user.Close()
	if _, err := user.l.PasswordModify(goldap.NewPasswordModifyRequest("", oldPassword.Reveal(), newPassword.Reveal())); err != nil {
		return c.passwordError("change password of", dn, err)
	}
	return nil
}
