"""Build a TouchDesigner controller for the StyleGAN instrument (paste into the Textport, or run from a Text DAT).

Creates, inside the current network (`parent()`), a Base COMP `instrument_osc` holding:
  * one custom Float parameter per instrument parameter (page "Instrument", ranges from PARAMS below),
  * `params`   Constant CHOP: one channel per parameter, named like `instrument/spring/stiffness`, each value an
               expression reading the matching custom parameter,
  * `osc_out`  OSC Out CHOP -> 127.0.0.1:9000; channel names are sent as OSC addresses (`/instrument/...`),
  * `actions`  OSC Out DAT  -> 127.0.0.1:9000 for actions, with pulse parameters (Random, Kick, Recall1...) and
               a Parameter Execute DAT calling `sendOSC(address, args)`,
  * `feedback` OSC In DAT on 9002 (after `/instrument/subscribe 9002`) whose callbacks write the values back
               into the custom parameters.

PARAMS is generated from the instrument's namespace by patches/make_patches.py; tests/control/test_patches.py
checks every address and range against the live table.
"""

HOST, PORT, FEEDBACK_PORT = "127.0.0.1", 9000, 9002

# BEGIN GENERATED PARAMS (patches/make_patches.py: address, min, max, default)
PARAMS = [
    ('/instrument/spring/stiffness', 0.1, 200.0, 9.0),
    ('/instrument/spring/damping', 0.05, 4.0, 1.0),
    ('/instrument/wander/amount', 0.0, 1.0, 0.0),
    ('/instrument/wander/speed', 0.01, 10.0, 0.3),
    ('/instrument/truncation/psi', -1.0, 2.0, 0.8),
    ('/instrument/mix/coarse/b', 0.0, 1.0, 0.0),
    ('/instrument/mix/middle/b', 0.0, 1.0, 0.0),
    ('/instrument/mix/fine/b', 0.0, 1.0, 0.0),
    ('/instrument/fx/feedback/amount', 0.0, 0.99, 0.0),
    ('/instrument/fx/feedback/zoom', 0.8, 1.25, 1.02),
    ('/instrument/fx/feedback/rotate', -10.0, 10.0, 0.0),
    ('/instrument/fx/pixelsort/amount', 0.0, 1.0, 0.0),
    ('/instrument/fx/pixelsort/threshold', 0.0, 1.0, 0.25),
]
# END GENERATED PARAMS

# Actions: (pulse parameter name, OSC address, arguments).
ACTIONS = [("Random", "/instrument/random", []),
           ("Kick", "/instrument/kick", []),
           ("Journeytoggle", "/instrument/journey/toggle", []),
           ("Journeynext", "/instrument/journey/next", [])]
ACTIONS += [(f"Recall{slot}", "/instrument/keyframe/recall", [slot]) for slot in range(1, 9)]
ACTIONS += [(f"Store{slot}", "/instrument/keyframe/store", [slot]) for slot in range(1, 9)]


def par_name(address):
    """'/instrument/fx/feedback/amount' -> 'Fxfeedbackamount' (custom parameter names: capital, then lowercase)."""
    return address.replace("/instrument/", "").replace("/", "").capitalize()


def channel_name(address):
    """'/instrument/spring/stiffness' -> 'instrument/spring/stiffness' (OSC Out CHOP sends '/' + channel name)."""
    return address.lstrip("/")


def set_const(chop, i, name, expr):
    """Constant CHOP channel i; newer builds name the parameters const0name/const0value, older name0/value0."""
    name_par = getattr(chop.par, f"const{i}name", None) or getattr(chop.par, f"name{i}")
    value_par = getattr(chop.par, f"const{i}value", None) or getattr(chop.par, f"value{i}")
    name_par.val = name
    value_par.expr = expr


PARAM_EXEC = '''# Pulse parameters on the instrument_osc COMP send their OSC action.
ACTIONS = {actions!r}

def onPulse(par):
    address, args = ACTIONS.get(par.name, (None, None))
    if address:
        op('actions').sendOSC(address, args)
    elif par.name == 'Subscribe':
        op('actions').sendOSC('/instrument/subscribe', [{port}])
    return
'''

FEEDBACK_CALLBACKS = '''# /instrument/<param> <float> from the instrument -> the matching custom parameter on instrument_osc.
PARS = {pars!r}

def onReceiveOSC(dat, rowIndex, message, bytes, timeStamp, address, args, peer):
    name = PARS.get(address)
    if name and args:
        par = getattr(parent().par, name)
        if abs(par.eval() - float(args[0])) > 1e-6:   # only real changes: no feedback loop
            par.val = float(args[0])
    elif address == '/instrument/error':
        print('instrument error:', args)
    return
'''


def build(where=None):
    where = where or parent()
    comp = where.create(baseCOMP, "instrument_osc")
    page = comp.appendCustomPage("Instrument")
    for address, lo, hi, default in PARAMS:
        par = page.appendFloat(par_name(address), label=address.replace("/instrument/", ""))[0]
        par.min, par.max, par.normMin, par.normMax = lo, hi, lo, hi
        par.clampMin = par.clampMax = True
        par.default = par.val = default
    actions_page = comp.appendCustomPage("Actions")
    for name, _, _ in ACTIONS:
        actions_page.appendPulse(name)
    actions_page.appendPulse("Subscribe")

    params = comp.create(constantCHOP, "params")
    for i, (address, _, _, _) in enumerate(PARAMS):
        set_const(params, i, channel_name(address), f"parent().par.{par_name(address)}")

    osc_out = comp.create(oscoutCHOP, "osc_out")
    osc_out.par.netaddress, osc_out.par.port = HOST, PORT
    osc_out.inputConnectors[0].connect(params)

    actions = comp.create(oscoutDAT, "actions")
    actions.par.netaddress, actions.par.port = HOST, PORT

    exec_dat = comp.create(parameterexecuteDAT, "action_exec")
    exec_dat.text = PARAM_EXEC.format(actions={n: (a, args) for n, a, args in ACTIONS}, port=FEEDBACK_PORT)
    exec_dat.par.op = comp.path
    exec_dat.par.pars = "*"
    exec_dat.par.onpulse = True

    callbacks = comp.create(textDAT, "feedback_callbacks")
    callbacks.text = FEEDBACK_CALLBACKS.format(pars={a: par_name(a) for a, _, _, _ in PARAMS})
    feedback = comp.create(oscinDAT, "feedback")
    feedback.par.port = FEEDBACK_PORT
    feedback.par.callbacks = callbacks.name

    actions.sendOSC("/instrument/subscribe", [FEEDBACK_PORT])   # feedback starts now; pulse Subscribe to redo
    return comp


def random():
    op("instrument_osc/actions").sendOSC("/instrument/random", [])


def kick():
    op("instrument_osc/actions").sendOSC("/instrument/kick", [])


def recall(slot):
    op("instrument_osc/actions").sendOSC("/instrument/keyframe/recall", [int(slot)])


build()
