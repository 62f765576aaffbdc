/** The renderer's entry: take the token out of the URL before anything calls the server, then mount the app. */
import { mount } from 'svelte';
import App from './App.svelte';
import { takeTokenFromUrl } from './services/token.ts';
import './app.css';

takeTokenFromUrl();
mount(App, { target: document.getElementById('app')! });
