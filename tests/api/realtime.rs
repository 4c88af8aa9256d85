//! The Socket.IO connection: handshake, presence, session revocation.

use crate::helpers::TestApp;
use crate::sio::SioClient;

#[tokio::test]
async fn a_socket_connects_with_a_token_and_is_refused_without_one() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut socket = alice.connect().await;
    let initial = socket.next_event("presence_initial").await;
    assert!(initial.data["users"].is_array());
    let refused = SioClient::connect(app.addr, "not-a-token").await;
    assert!(refused.is_err());
}
