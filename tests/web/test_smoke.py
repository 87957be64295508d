def test_login_page_is_chinese_by_default(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.get_data(as_text=True)


def test_officer_logs_in_and_sees_dashboard(client, make_user, login):
    user = make_user("procurement_officer")
    login(user)
    page = client.get("/")
    assert page.status_code == 200
    assert user.display_name in page.get_data(as_text=True)
